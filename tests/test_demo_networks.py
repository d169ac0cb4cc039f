"""The demo reports on dense networks, in their quick form."""

from fastml._demo_networks import mlp_vs_softmax_report, transfer_report


def test_mlp_beats_softmax_on_digits():
    report = mlp_vs_softmax_report(quick=True)
    assert report["n_splits"] == 2
    assert report["mlp_accuracy"] > report["softmax_accuracy"]
    assert report["difference"] > 0.005


def test_transfer_report_is_consistent():
    report = transfer_report(quick=True)
    assert report["n_draws"] == 3
    for name in ("fine_tuned", "fine_tuned_unfrozen", "scratch"):
        assert len(report[f"{name}_accuracies"]) == 3
        assert 0.85 < report[f"{name}_accuracy"] <= 1.0, name
    won = report["draws_won_by_fine_tuning"] + report["draws_won_by_scratch"]
    assert won <= 3
    expected = report["fine_tuned_accuracy"] - report["scratch_accuracy"]
    assert abs(report["difference"] - expected) < 1e-12
    assert report["fine_tuning_ahead"] == (report["difference"] > 0)
