"""The demo reports on dense networks."""

import numpy as np
import pytest

from fastml._demo_networks import (
    SOURCE_CLASSES,
    _augment_source,
    _shift,
    mlp_vs_softmax_report,
    transfer_report,
)
from fastml.datasets import load_digits

MODEL_NAMES = ("fine_tuned", "fine_tuned_unfrozen", "scratch")


@pytest.fixture(scope="module")
def transfer():
    return transfer_report()


def test_mlp_beats_softmax_on_digits():
    report = mlp_vs_softmax_report(quick=True)
    assert report["n_splits"] == 2
    assert report["mlp_accuracy"] > report["softmax_accuracy"]
    assert report["difference"] > 0.005


def test_shift_moves_pixels_and_fills_zeros():
    images = np.arange(1.0, 65.0).reshape(1, 8, 8)
    shifted = _shift(images, 1, -1)
    np.testing.assert_array_equal(shifted[0, 1:, :7], images[0, :7, 1:])
    assert not shifted[0, 0, :].any()
    assert not shifted[0, :, 7].any()


def test_augment_source_labels_orientations():
    X, y = load_digits()
    X, y = X[:3], y[:3]
    copies, labels = _augment_source(X, y)
    assert copies.shape == (3 * 108, 64)
    assert labels.shape == (3 * 108,)
    images = X.reshape(-1, 8, 8)
    orientations = (
        images,
        images[:, :, ::-1],
        images[:, ::-1, :],
        images[:, ::-1, ::-1],
    )
    # Each orientation owns 27 consecutive blocks of 3 copies (3 rotations x 9
    # shifts), and block 13 of them has neither rotation nor shift.
    for k, oriented in enumerate(orientations):
        start = 27 * k * 3
        unchanged = copies[start + 13 * 3 : start + 14 * 3]
        np.testing.assert_array_equal(unchanged, oriented.reshape(3, 64))
        block_labels = labels[start : start + 27 * 3]
        np.testing.assert_array_equal(block_labels, np.tile(y, 27) + 10 * k)
    assert copies.min() >= 0.0
    assert copies.max() <= 16.0


def test_transfer_report_is_consistent(transfer):
    assert transfer["n_draws"] == 10
    for name in MODEL_NAMES:
        assert len(transfer[f"{name}_accuracies"]) == 10
        assert 0.85 < transfer[f"{name}_accuracy"] <= 1.0, name
    won = transfer["draws_won_by_fine_tuning"] + transfer["draws_won_by_scratch"]
    assert won <= 10
    expected = transfer["fine_tuned_accuracy"] - transfer["scratch_accuracy"]
    assert abs(transfer["difference"] - expected) < 1e-12
    assert transfer["fine_tuning_ahead"] == (transfer["difference"] > 0)


def test_transfer_pretraining_set_size(transfer):
    _, y = load_digits()
    n_source_images = int(np.isin(y, SOURCE_CLASSES).sum())
    assert transfer["n_pretraining_images"] == 108 * n_source_images
    assert transfer["n_source_classes"] == 20


def test_frozen_fine_tuning_beats_scratch(transfer):
    assert transfer["difference"] > 0
    assert transfer["fine_tuning_ahead"]
    assert transfer["draws_won_by_fine_tuning"] > transfer["n_draws"] // 2


def test_scratch_fits_its_training_images(transfer):
    assert transfer["scratch_train_accuracies"] == [1.0] * transfer["n_draws"]
    assert transfer["scratch_train_accuracy"] == 1.0
