"""Linear models trained by the C++ core."""

from ._logistic import LogisticRegression

__all__ = ["LogisticRegression"]
