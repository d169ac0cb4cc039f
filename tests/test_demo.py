import json
import subprocess
import sys

import pytest

from fastml import cli
from fastml.demo import format_report, run_demo


@pytest.fixture(scope="module")
def quick_report():
    return run_demo(quick=True)


def test_demo_covers_both_data_sets_and_three_optimizers(quick_report):
    rows = quick_report["linear_models"]
    assert {(row["dataset"], row["optimizer"]) for row in rows} == {
        (data, optimizer)
        for data in ("breast cancer", "digits")
        for optimizer in ("full-batch GD", "mini-batch SGD", "Adam")
    }


def test_demo_adam_reaches_expected_accuracy(quick_report):
    for row in quick_report["linear_models"]:
        if row["optimizer"] == "Adam":
            assert row["test_accuracy"] >= 0.95, row


def test_demo_costs_are_finite_and_positive(quick_report):
    for row in quick_report["linear_models"]:
        assert 0 < row["train_cost"] < 1
        assert 0 < row["val_cost"] < 1
        assert 0 < row["test_log_loss"] < 1


def test_demo_table_has_a_line_per_run(quick_report):
    text = format_report(quick_report)
    assert "test acc" in text
    assert text.count("breast cancer") == 3
    assert text.count("digits") >= 3
    assert "Lasso on the diabetes data" in text
    assert "Underfitting model" in text
    assert "Transfer learning" in text


def test_demo_lists_all_eight_optimizers(quick_report):
    names = [row["optimizer"] for row in quick_report["optimizers"]]
    assert names == [
        "sgd",
        "momentum",
        "nesterov",
        "adagrad",
        "rmsprop",
        "adam",
        "adamw",
        "lbfgs",
    ]
    for row in quick_report["optimizers"]:
        assert row["epochs"] >= 1
        assert row["test_accuracy"] > 0.9, row


def test_demo_lasso_has_exact_zeros(quick_report):
    assert quick_report["lasso"]["zero_coefficients"] >= 1


def test_demo_model_selection_and_verdicts(quick_report):
    selection = quick_report["model_selection"]
    assert 1 <= selection["chosen_degree"] <= 10
    chosen = [
        row
        for row in selection["grid"]
        if (row["degree"], row["alpha"])
        == (selection["chosen_degree"], selection["chosen_alpha"])
    ]
    assert chosen[0]["val_cost"] == min(row["val_cost"] for row in selection["grid"])
    assert selection["test_cost"] > 0
    assert selection["underfit"]["verdict"] == "high bias"
    assert selection["overfit"]["verdict"] == "high variance"


def test_demo_network_sections(quick_report):
    versus = quick_report["mlp_vs_softmax"]
    assert versus["mlp_accuracy"] > versus["softmax_accuracy"]
    transfer = quick_report["transfer"]
    assert transfer["n_draws"] == 3
    assert transfer["difference"] == pytest.approx(
        transfer["fine_tuned_accuracy"] - transfer["scratch_accuracy"]
    )


def test_cli_demo_json(capsys):
    assert cli.main(["demo", "--quick", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["linear_models"]) == 6
    assert len(report["optimizers"]) == 8


def test_module_entry_point_runs_the_demo():
    completed = subprocess.run(
        [sys.executable, "-m", "fastml", "demo", "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert "digits" in completed.stdout


def test_cli_without_command_exits_with_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2
    assert "usage: fastml" in capsys.readouterr().err
