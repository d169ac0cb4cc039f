"""scikit-learn's estimator checks, each run as its own test."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from fastml import LogisticRegression

# Checks that cannot pass by design, with the reason; scikit-learn reports
# them as expected failures rather than skipping them.
EXPECTED_FAILED_CHECKS = {}


def expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(
    [LogisticRegression(random_state=0)],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
