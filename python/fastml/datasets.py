"""Small real data sets that ship with scikit-learn, so nothing is downloaded.

Each loader returns ``(X, y)`` as NumPy arrays: X float64 of shape
(n_samples, n_features) and y of shape (n_samples,).
"""

from sklearn import datasets as _sklearn_datasets


def load_digits():
    """UCI optical recognition of handwritten digits: 1,797 images, 10 classes.

    Each row holds the 64 pixels of an 8x8 image with values 0 to 16, made
    by counting the set pixels of 4x4 blocks of a 32x32 bitmap; y is the
    digit 0-9.

    Source: E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten
    Digits", UCI Machine Learning Repository, 1998 (test part of the
    original data), https://doi.org/10.24432/C50P49. Licence: CC BY 4.0.
    Loaded from the copy bundled with scikit-learn.
    """
    X, y = _sklearn_datasets.load_digits(return_X_y=True)
    return X, y


def load_breast_cancer():
    """Wisconsin diagnostic breast cancer: 569 samples, 30 features, 2 classes.

    Features describe cell nuclei in digitized images of fine needle
    aspirates of breast masses; y is 0 for malignant (212) and 1 for benign
    (357).

    Source: W. Wolberg, O. Mangasarian, N. Street and W. Street, "Breast
    Cancer Wisconsin (Diagnostic)", UCI Machine Learning Repository, 1995,
    https://doi.org/10.24432/C5DW2B. Licence: CC BY 4.0. Loaded from the
    copy bundled with scikit-learn.
    """
    X, y = _sklearn_datasets.load_breast_cancer(return_X_y=True)
    return X, y


def load_diabetes():
    """Diabetes progression: 442 patients, 10 baseline features, real target.

    Features are age, sex, body mass index, average blood pressure and six
    blood serum measurements, each centred and scaled to unit Euclidean
    norm; y is a quantitative measure of disease progression one year after
    baseline (25 to 346).

    Source: B. Efron, T. Hastie, I. Johnstone and R. Tibshirani, "Least
    Angle Regression", Annals of Statistics 32(2), 2004, pp. 407-499. Loaded
    from the copy bundled with scikit-learn (BSD-3-Clause).
    """
    X, y = _sklearn_datasets.load_diabetes(return_X_y=True)
    return X, y
