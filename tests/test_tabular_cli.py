"""Tests of the ``fastml diagnose`` and ``fastml train`` commands."""

import argparse
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fastml
from fastml import _tabular_cli, cli


@pytest.fixture
def run(monkeypatch, capsys):
    """Run the command line and return (exit code, stdout, stderr)."""

    def run_command(*argv):
        parser = argparse.ArgumentParser(prog="fastml")
        subparsers = parser.add_subparsers(required=True)
        _tabular_cli.add_diagnose_parser(subparsers)
        _tabular_cli.add_train_parser(subparsers)
        args = parser.parse_args([str(arg) for arg in argv])
        code = args.handler(args)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run_command


def write_csv(path, header, rows):
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def regression_csv(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (60, 2))
    y = 3 * x[:, 0] - x[:, 1] + rng.normal(0, 0.1, 60)
    rows = [(f"{a:.6f}", f"{b:.6f}", f"{t:.6f}") for (a, b), t in zip(x, y)]
    return write_csv(tmp_path / "regression.csv", ["x1", "x2", "price"], rows)


@pytest.fixture
def classification_csv(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (60, 2))
    labels = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    rows = [(label, f"{a:.6f}", f"{b:.6f}") for label, (a, b) in zip(labels, x)]
    return write_csv(tmp_path / "classes.csv", ["answer", "x1", "x2"], rows)


def test_diagnose_regression(run, regression_csv, tmp_path):
    plot = tmp_path / "curve.png"

    code, out, err = run(
        "diagnose", "--data", regression_csv, "--target", "price", "--plot", plot
    )

    assert code == 0
    assert (
        "model: linear (standardized features and target, LinearRegression), "
        "regression of 'price'" in out
    )
    assert "36 train, 12 validation, 12 test rows" in out
    assert "train size   training cost  validation cost" in out
    assert "Verdict: good fit" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "error" not in err


def test_diagnose_classification_with_baseline(run, classification_csv):
    code, out, err = run(
        "diagnose",
        "--data",
        classification_csv,
        "--target",
        "answer",
        "--baseline",
        "0.05",
    )

    assert code == 0
    assert (
        "model: logistic (standardized features, LogisticRegression), classification"
        in out
    )
    assert "log loss" in out
    assert "baseline           0.05" in out
    assert "Verdict:" in out


def test_train_reports_validation_and_test(run, classification_csv):
    code, out, err = run(
        "train",
        "--data",
        classification_csv,
        "--target",
        "answer",
        "--param",
        "alpha=0.001",
    )

    assert code == 0
    lines = out.splitlines()
    assert lines[1].split() == ["cost", "accuracy"]
    assert lines[2].split()[0] == "validation"
    assert lines[3].split()[0] == "test"
    assert 0.5 < float(lines[3].split()[2]) <= 1.0


def test_train_saves_weights(run, regression_csv, tmp_path, monkeypatch):
    saved = []
    monkeypatch.setattr(
        fastml,
        "save_weights",
        lambda model, path: saved.append((model, path)),
        raising=False,
    )
    out_path = tmp_path / "model.safetensors"

    code, out, err = run(
        "train", "--data", regression_csv, "--target", "price", "--out", out_path
    )

    assert code == 0
    assert len(saved) == 1
    assert hasattr(saved[0][0], "coef_")
    assert saved[0][1] == str(out_path)
    assert f"model saved to {out_path}" in out


def test_train_without_weight_saver(run, regression_csv, tmp_path, monkeypatch):
    monkeypatch.delattr(fastml, "save_weights", raising=False)

    code, out, err = run(
        "train",
        "--data",
        regression_csv,
        "--target",
        "price",
        "--out",
        tmp_path / "m.safetensors",
    )

    assert code == 2
    assert out == ""
    assert "--out needs fastml.save_weights" in err


def test_missing_fastml_class_is_reported(monkeypatch, regression_csv, capsys):
    monkeypatch.delattr(fastml, "LinearRegression", raising=False)
    parser = argparse.ArgumentParser(prog="fastml")
    _tabular_cli.add_train_parser(parser.add_subparsers())
    args = parser.parse_args(
        ["train", "--data", str(regression_csv), "--target", "price"]
    )

    code = args.handler(args)

    assert code == 2
    assert "needs fastml.LinearRegression" in capsys.readouterr().err


BROKEN_FILES = [
    (
        "missing column",
        "a,b\n1,2\n",
        "target column 'y' not found; the columns are a, b",
    ),
    (
        "non-numeric",
        "a,y\n1,0\nabc,1\n",
        "line 3: column 'a' has the non-numeric value 'abc'",
    ),
    ("empty", "", "is empty"),
    ("blank lines only", "\n\n", "is empty"),
    ("header only", "a,y\n", "has a header but no data rows"),
    ("ragged row", "a,y\n1,0\n2\n", "line 3 has 1 fields, expected 2"),
    ("missing value", "a,y\n1,0\n,1\n", "line 3: column 'a' is missing a value"),
    ("missing target", "a,y\n1,0\n2,\n", "line 3: the target 'y' is missing"),
    ("infinite value", "a,y\n1,0\ninf,1\n", "NaN and infinity are not allowed"),
    (
        "huge feature",
        "a,y\n1,0\n-1e200,1\n",
        r"line 3: column 'a' has the value '-1e200', beyond the 1e\+100",
    ),
    (
        "huge numeric target",
        "a,y\n1,0.5\n2,3e160\n3,1.5\n",
        r"column 'y' has the value '3e160', beyond the 1e\+100",
    ),
    ("no features", "y\n1\n", "no feature columns besides 'y'"),
    ("duplicate column", "a,a,y\n1,2,3\n", "column 'a' appears twice"),
    ("one class", "a,y\n1,0\n2,0\n3,0\n", r"only one class \(0\)"),
    ("not UTF-8", b"a,y\n\xff,1\n", "is not UTF-8 text"),
]


@pytest.mark.parametrize("command", ["diagnose", "train"])
@pytest.mark.parametrize(
    "content, message",
    [case[1:] for case in BROKEN_FILES],
    ids=[case[0] for case in BROKEN_FILES],
)
def test_broken_csv_gives_one_error_line(run, tmp_path, command, content, message):
    path = tmp_path / "broken.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)

    code, out, err = run(command, "--data", path, "--target", "y")

    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"fastml {command}: error: ")
    assert "Traceback" not in err
    assert re.search(message, err)


@pytest.mark.parametrize("command", ["diagnose", "train"])
def test_missing_file_gives_one_error_line(run, tmp_path, command):
    path = tmp_path / "absent.csv"
    code, out, err = run(command, "--data", path, "--target", "y")
    assert code == 2
    assert err == f"fastml {command}: error: {path}: file not found\n"


def test_directory_gives_one_error_line(run, tmp_path):
    code, out, err = run("train", "--data", tmp_path, "--target", "y")
    assert code == 2
    assert err.startswith(f"fastml train: error: cannot read {tmp_path}")


def test_impossible_split_is_reported(run, tmp_path):
    rows = [(i, "a") for i in range(8)] + [(8, "b")]
    path = write_csv(tmp_path / "rare.csv", ["x", "y"], rows)

    code, out, err = run("diagnose", "--data", path, "--target", "y")

    assert code == 2
    assert "cannot split" in err
    assert "class 'b' (1 member)" in err


def test_logistic_rejects_three_classes(run, tmp_path):
    rows = [(i, i % 3) for i in range(30)]
    path = write_csv(tmp_path / "three.csv", ["x", "y"], rows)

    code, out, err = run(
        "train", "--data", path, "--target", "y", "--model", "logistic"
    )

    assert code == 2
    assert "has 3 classes; use --model softmax" in err


def test_linear_rejects_text_target(run, classification_csv):
    code, out, err = run(
        "train", "--data", classification_csv, "--target", "answer", "--model", "linear"
    )
    assert code == 2
    assert "--model linear needs a numeric target" in err


def test_model_inferred_from_target(run, tmp_path):
    integers = write_csv(
        tmp_path / "ints.csv", ["x", "y"], [(i, i % 3) for i in range(30)]
    )
    code, out, err = run("train", "--data", integers, "--target", "y")
    assert code == 0
    assert out.startswith("model: softmax")


def test_invalid_param_is_reported(run, regression_csv):
    code, out, err = run(
        "train", "--data", regression_csv, "--target", "price", "--param", "nonsense=1"
    )
    assert code == 2
    assert err.startswith("fastml train: error: invalid --param:")


@pytest.mark.parametrize("assignment", ["alpha=-1", "alpha=abc", "optimizer=foo"])
def test_bad_param_value_is_rejected_before_training(run, classification_csv, assignment):
    code, out, err = run(
        "train",
        "--data",
        classification_csv,
        "--target",
        "answer",
        "--param",
        assignment,
    )
    assert code == 2
    assert out == ""
    assert err.startswith("fastml train: error: invalid --param: LogisticRegression:")
    assert assignment.partition("=")[2] in err


def test_diagnose_without_validation_rows(run, classification_csv):
    code, out, err = run(
        "diagnose", "--data", classification_csv, "--target", "answer", "--val-size", "0"
    )
    assert code == 2
    assert out == ""
    assert "--val-size 0 leaves no validation rows" in err


def test_param_values_are_literals():
    assert _tabular_cli._parse_param_value("0.5") == 0.5
    assert _tabular_cli._parse_param_value("100") == 100
    assert _tabular_cli._parse_param_value("(10, 5)") == (10, 5)
    assert _tabular_cli._parse_param_value("None") is None
    assert _tabular_cli._parse_param_value("lbfgs") == "lbfgs"
    assert _tabular_cli._parse_param_value("true") is True
    assert _tabular_cli._parse_param_value("FALSE") is False
    assert _tabular_cli._parse_param_value("none") is None


def test_malformed_param_is_reported(run, regression_csv):
    code, out, err = run(
        "train", "--data", regression_csv, "--target", "price", "--param", "alpha"
    )
    assert code == 2
    assert "--param must have the form NAME=VALUE, got 'alpha'" in err


@pytest.mark.parametrize("option, value", [("--baseline", "-1"), ("--val-size", "x")])
def test_invalid_option_exits_with_2(run, regression_csv, option, value):
    with pytest.raises(SystemExit) as exit_info:
        run("diagnose", "--data", regression_csv, "--target", "price", option, value)
    assert exit_info.value.code == 2


def test_folded_standardization_predicts_like_pipeline():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import fastml
    from fastml._tabular_cli import fold_standardization

    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3)) * [1.0, 100.0, 0.01] + [5.0, -300.0, 2.0]
    y = (X[:, 0] - 5 + (X[:, 1] + 300) / 100 > 0).astype(int)
    pipeline = make_pipeline(
        StandardScaler(), fastml.LogisticRegression(max_epochs=200)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline.fit(X, y)
    folded = fold_standardization(pipeline)
    np.testing.assert_allclose(
        folded.decision_function(X), pipeline.decision_function(X), rtol=1e-9, atol=1e-9
    )
    assert pipeline[-1].coef_ is not folded.coef_


@pytest.mark.parametrize("option", ["--val-size", "--test-size"])
def test_train_with_an_empty_part(run, classification_csv, option):
    code, out, err = run(
        "train", "--data", classification_csv, "--target", "answer", option, "0"
    )
    assert code == 0, err
    assert "(no rows)" in out


def test_train_writes_a_model_that_loads(run, classification_csv, tmp_path):
    out_path = tmp_path / "model.safetensors"
    code, out, err = run(
        "train", "--data", classification_csv, "--target", "answer", "--out", out_path
    )
    assert code == 0, err
    model = fastml.load_model(out_path)
    rows = [line.split(",") for line in classification_csv.read_text().splitlines()[1:]]
    X = pd.DataFrame(
        [[float(a), float(b)] for _, a, b in rows], columns=["x1", "x2"]
    )
    labels = np.array([label for label, _, _ in rows])
    assert model.score(X, labels) > 0.9
    # The header's names are saved, so reordered columns are rejected.
    assert list(model.feature_names_in_) == ["x1", "x2"]
    with pytest.raises(ValueError, match="feature names"):
        model.predict(X[["x2", "x1"]])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_train_is_reproducible(run, classification_csv):
    first = run(
        "train", "--data", classification_csv, "--target", "answer", "--model", "mlp"
    )
    second = run(
        "train", "--data", classification_csv, "--target", "answer", "--model", "mlp"
    )
    assert first[0] == 0, first[2]
    assert first[1] == second[1]


def test_train_out_to_missing_directory(run, classification_csv, tmp_path):
    target = tmp_path / "missing" / "model.safetensors"
    code, out, err = run(
        "train", "--data", classification_csv, "--target", "answer", "--out", target
    )
    assert code == 2
    assert out == ""
    assert err == (
        f"fastml train: error: --out {target}: the directory {tmp_path / 'missing'} "
        "does not exist; create it first\n"
    )


@pytest.fixture
def no_fitting(monkeypatch):
    """Make every fit fail the test, to show that a command stopped before it."""

    def fail_on_fit(*args, **kwargs):
        pytest.fail("the command fitted a model before checking its output path")

    monkeypatch.setattr(_tabular_cli, "learning_curve", fail_on_fit)
    monkeypatch.setattr(_tabular_cli, "_prepare", fail_on_fit)


@pytest.mark.parametrize(
    "relative, message",
    [
        ("missing/model.safetensors", "does not exist; create it first"),
        ("", "is a directory; pass a file name such as model.safetensors"),
        ("data.csv/model.safetensors", "is not a directory"),
    ],
    ids=["missing directory", "directory", "file as directory"],
)
def test_bad_out_path_fails_before_training(
    run, regression_csv, tmp_path, no_fitting, relative, message
):
    target = f"{tmp_path / relative}" if relative else f"{tmp_path}"
    (tmp_path / "data.csv").write_text("x,y\n")

    code, out, err = run(
        "train", "--data", regression_csv, "--target", "price", "--out", target
    )

    assert code == 2
    assert out == ""
    assert err.startswith(f"fastml train: error: --out {target}: ")
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "name, found",
    [
        ("model.txt", "suffix '.txt'"),
        ("model", "no suffix"),
        ("model.safetensors.bak", "suffix '.bak'"),
    ],
)
def test_out_without_safetensors_suffix_fails_before_training(
    run, regression_csv, tmp_path, no_fitting, name, found
):
    target = tmp_path / name

    code, out, err = run(
        "train", "--data", regression_csv, "--target", "price", "--out", target
    )

    assert code == 2
    assert out == ""
    assert err == (
        f"fastml train: error: --out {target}: the file name has {found}, but the "
        "weights are written in the safetensors format, so it must end in "
        ".safetensors (for example model.safetensors)\n"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["regression.csv"]


def test_out_that_is_only_the_suffix_is_rejected(
    run, regression_csv, tmp_path, no_fitting
):
    target = tmp_path / ".safetensors"

    code, out, err = run(
        "train", "--data", regression_csv, "--target", "price", "--out", target
    )

    assert code == 2
    assert err.startswith(f"fastml train: error: --out {target}: ")
    assert "the file name is only the suffix .safetensors" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("name", ["model.safetensors", "MODEL.SAFETENSORS"])
def test_out_with_safetensors_suffix_is_saved(run, regression_csv, tmp_path, name):
    target = tmp_path / name

    code, out, err = run(
        "train", "--data", regression_csv, "--target", "price", "--out", target
    )

    assert code == 0, err
    assert f"model saved to {target}" in out
    assert fastml.load_model(target).n_features_in_ == 2


@pytest.mark.parametrize("command", ["diagnose", "train"])
@pytest.mark.parametrize("value", ["-5", "4294967296", "1.5", "seven"])
def test_invalid_random_state_names_the_flag(
    run, regression_csv, capsys, no_fitting, command, value
):
    with pytest.raises(SystemExit) as exit_info:
        run(
            command,
            "--data",
            regression_csv,
            "--target",
            "price",
            "--random-state",
            value,
        )

    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert (
        f"error: argument --random-state: expected an int in [0, 4294967295], "
        f"got '{value}'" in err
    )
    assert "invalid --param" not in err


@pytest.mark.parametrize("value", ["0", "4294967295"])
def test_random_state_accepts_the_seed_range(run, classification_csv, value):
    code, out, err = run(
        "train",
        "--data",
        classification_csv,
        "--target",
        "answer",
        "--random-state",
        value,
    )

    assert code == 0, err


def test_unwritable_out_directory_fails_before_training(
    run, regression_csv, no_fitting
):
    # os.access reports /proc as writable for root, but no file can be created there.
    code, out, err = run(
        "train",
        "--data",
        regression_csv,
        "--target",
        "price",
        "--out",
        "/proc/x.safetensors",
    )

    assert code == 2
    assert out == ""
    assert err.startswith(
        "fastml train: error: --out /proc/x.safetensors: cannot create a file in "
        "the directory /proc: "
    )
    assert ".tmp" not in err
    assert err.count("\n") == 1


def test_out_may_not_overwrite_the_data(run, regression_csv):
    before = Path(regression_csv).read_text()
    code, out, err = run(
        "train", "--data", regression_csv, "--target", "price", "--out", regression_csv
    )
    assert code == 2
    assert "is the --data file" in err
    assert err.count("\n") == 1
    assert Path(regression_csv).read_text() == before


def test_out_may_not_replace_a_special_file(run, regression_csv, tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("needs named pipes")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    code, out, err = run(
        "train", "--data", regression_csv, "--target", "price", "--out", pipe
    )
    assert code == 2
    assert "not a regular file" in err
    assert out == ""


def test_out_path_error_names_no_temporary_file(
    run, regression_csv, tmp_path, monkeypatch
):
    # The directory is writable when checked but the save itself fails.
    target = tmp_path / "model.safetensors"
    real_replace = os.replace

    def fail_replace(source, destination):
        raise PermissionError(13, "Permission denied", str(source))

    monkeypatch.setattr(os, "replace", fail_replace)
    code, out, err = run(
        "train", "--data", regression_csv, "--target", "price", "--out", target
    )
    monkeypatch.setattr(os, "replace", real_replace)

    assert code == 2
    assert err == (
        f"fastml train: error: --out {target}: cannot write the file: "
        "Permission denied\n"
    )
    assert list(tmp_path.iterdir()) == [regression_csv]


@pytest.mark.parametrize(
    "relative, message",
    [
        (".", "is a directory; pass a file name such as curve.png"),
        ("missing/curve.png", "does not exist; create it first"),
        ("curve.txt", "the file name must end in .png or have no suffix"),
        ("curve.pdf", "the file name must end in .png or have no suffix"),
        ("curve.", "the file name must end in .png or have no suffix"),
        (".png", "the file name is only the suffix .png"),
    ],
    ids=["directory", "missing directory", "txt", "pdf", "trailing dot", "no stem"],
)
def test_bad_plot_path_fails_before_training(
    run, regression_csv, tmp_path, no_fitting, relative, message
):
    target = str(tmp_path / relative)

    code, out, err = run(
        "diagnose", "--data", regression_csv, "--target", "price", "--plot", target
    )

    assert code == 2
    assert out == ""
    assert err.startswith(f"fastml diagnose: error: --plot {target}: ")
    assert message in err
    assert err.count("\n") == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["regression.csv"]


def test_unwritable_plot_directory_fails_before_training(
    run, regression_csv, no_fitting
):
    code, out, err = run(
        "diagnose", "--data", regression_csv, "--target", "price", "--plot", "/proc/c"
    )

    assert code == 2
    assert out == ""
    assert err.startswith(
        "fastml diagnose: error: --plot /proc/c.png: cannot create a file in the "
        "directory /proc: "
    )


@pytest.mark.parametrize("name", ["curve", "curve.png", "CURVE.PNG"])
def test_plot_writes_the_png_it_reports(run, regression_csv, tmp_path, name):
    requested = tmp_path / name
    written = tmp_path / (name if name.lower().endswith(".png") else name + ".png")

    code, out, err = run(
        "diagnose", "--data", regression_csv, "--target", "price", "--plot", requested
    )

    assert code == 0, err
    assert out.endswith(f"learning curve written to {written}\n")
    assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [written.name, "regression.csv"]
    )


def test_plot_name_in_current_directory(run, regression_csv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    code, out, err = run(
        "diagnose", "--data", regression_csv, "--target", "price", "--plot", "curve"
    )

    assert code == 0, err
    assert out.endswith("learning curve written to curve.png\n")
    assert (tmp_path / "curve.png").is_file()


DIVERGING_PARAMS = ["--param", "optimizer=sgd", "--param", "learning_rate=1e6"]


@pytest.mark.parametrize("command", ["diagnose", "train"])
def test_diverging_fit_gives_one_error_line(run, regression_csv, command):
    code, out, err = run(
        command, "--data", regression_csv, "--target", "price", *DIVERGING_PARAMS
    )

    assert code == 2
    assert err.startswith(f"fastml {command}: error: fitting LinearRegression failed: ")
    assert err.count("LinearRegression") == 1
    assert "so training stopped" in err
    assert "learning_rate" in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_diverging_fit_through_main(regression_csv, capsys):
    code = cli.main(
        ["train", "--data", str(regression_csv), "--target", "price"] + DIVERGING_PARAMS
    )

    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("fastml train: error: fitting LinearRegression failed: ")
    assert err.count("\n") == 1


def test_out_of_memory_gives_one_error_line(run, regression_csv, monkeypatch):
    def fail_for_memory(self, X, y, **kwargs):
        raise MemoryError("std::bad_alloc")

    monkeypatch.setattr(fastml.LinearRegression, "fit", fail_for_memory)
    code, out, err = run("train", "--data", regression_csv, "--target", "price")

    assert code == 2
    assert err == (
        "fastml train: error: fitting LinearRegression failed: not enough memory "
        "(MemoryError: std::bad_alloc); use smaller hidden_layer_sizes or fewer "
        "rows\n"
    )


def test_diagnose_plot_without_matplotlib(
    run, classification_csv, tmp_path, monkeypatch
):
    import builtins

    real_import = builtins.__import__

    def import_without_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", import_without_matplotlib)
    code, out, err = run(
        "diagnose",
        "--data",
        classification_csv,
        "--target",
        "answer",
        "--plot",
        tmp_path / "curve.png",
    )
    assert code == 2
    assert out == ""
    assert "--plot needs matplotlib" in err


@pytest.mark.parametrize("model", ["linear", "mlp"])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_saved_regressor_predicts_raw_units(run, tmp_path, model):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1000, (200, 2))
    y = 0.5 * x[:, 0] - 0.2 * x[:, 1] + 300 + rng.normal(0, 1, 200)
    rows = [(f"{a:.4f}", f"{b:.4f}", f"{t:.4f}") for (a, b), t in zip(x, y)]
    path = write_csv(tmp_path / "units.csv", ["x1", "x2", "price"], rows)
    out_path = tmp_path / "model.safetensors"
    code, out, err = run(
        "train",
        "--data",
        path,
        "--target",
        "price",
        "--model",
        model,
        "--out",
        out_path,
    )
    assert code == 0, err
    restored = fastml.load_model(out_path)
    assert restored.score(pd.DataFrame(x, columns=["x1", "x2"]), y) > 0.95


@pytest.mark.filterwarnings("always::sklearn.exceptions.ConvergenceWarning")
def test_warnings_print_as_one_line(regression_csv, capsys):
    code = cli.main(
        [
            "train",
            "--data",
            str(regression_csv),
            "--target",
            "price",
            "--param",
            "optimizer=sgd",
            "--param",
            "max_epochs=1",
        ]
    )

    assert code == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line]
    assert any(line.startswith("fastml train: warning: ") for line in lines), err
    assert all(line.startswith("fastml train: warning: ") for line in lines), err
    assert "warnings.warn" not in err


@pytest.mark.filterwarnings("always::UserWarning")
def test_repeated_warning_prints_once(regression_csv, capsys):
    # diagnose fits the model once per learning-curve point, each time with
    # the same ignored alpha.
    code = cli.main(
        ["diagnose", "--data", str(regression_csv), "--target", "price", "--model", "linear",
         "--param", "alpha=1.0"]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert err.count("penalty=None ignores alpha=1.0") == 1, err


@pytest.fixture
def quantity_csv(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, (60, 2))
    amount = np.round(100 + 30 * x[:, 0]).astype(int)
    rows = [(f"{a:.6f}", f"{b:.6f}", int(t)) for (a, b), t in zip(x, amount)]
    return write_csv(tmp_path / "amounts.csv", ["x1", "x2", "amount"], rows)


@pytest.mark.parametrize("model", ["logistic", "softmax"])
def test_classifier_on_a_quantity_suggests_regression(run, quantity_csv, model):
    code, out, err = run("train", "--data", quantity_csv, "--target", "amount", "--model", model)
    assert code == 2
    assert out == ""
    assert "--model linear" in err
    assert ".." not in err
    assert len(err) < 600


@pytest.mark.parametrize(
    "labels, expected",
    [
        (("0", "1e19"), ["0", "1e19"]),
        (("-1000000000000000000000000000000", "5"), ["-1000000000000000000000000000000", "5"]),
        (("9007199254740992", "9007199254740993"), [9007199254740992, 9007199254740993]),
        (("0", "9223372036854775807"), [0, 9223372036854775807]),
        (("0.0", "3.0"), [0, 3]),
    ],
)
def test_large_integer_labels_keep_every_digit(run, tmp_path, labels, expected):
    # Integer texts are read exactly; labels that int64 cannot hold (1e19,
    # -1e30) keep the file's text rather than wrap around.
    rng = np.random.default_rng(0)
    rows = ["a,b,y"]
    for a, b in rng.normal(size=(60, 2)):
        rows.append(f"{a:.6f},{b:.6f},{labels[1] if a > 0 else labels[0]}")
    path = tmp_path / "labels.csv"
    path.write_text("\n".join(rows) + "\n")
    out_path = tmp_path / "model.safetensors"

    code, out, err = run("train", "--data", path, "--target", "y", "--out", out_path)

    assert code == 0, err
    assert "warning" not in err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fastml.load_model(out_path)
    assert model.classes_.tolist() == expected
