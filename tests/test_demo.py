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


def test_cli_demo_json(capsys):
    assert cli.main(["demo", "--quick", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["linear_models"]) == 6


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
