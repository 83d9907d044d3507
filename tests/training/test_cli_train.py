"""The `train` sub-command end to end, and its argument parsing."""

from __future__ import annotations

import json

import pytest
from mlflow.tracking import MlflowClient

from training.__main__ import main
from training.cli.train import parse_param
from training.errors import TrainingError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("max_iter=300", ("max_iter", 300)),
        ("learning_rate=0.05", ("learning_rate", 0.05)),
        ("early_stopping=false", ("early_stopping", False)),
        ("max_depth=null", ("max_depth", None)),
        ("class_weight=balanced", ("class_weight", "balanced")),
    ],
)
def test_parse_param_values(text, expected):
    assert parse_param(text) == expected


@pytest.mark.parametrize("text", ["max_iter", "=3"])
def test_parse_param_rejects(text):
    with pytest.raises(TrainingError, match="write NAME=VALUE"):
        parse_param(text)


def test_cli_train_registers_version(tracking_uri, shared_data_dir, capsys, monkeypatch):
    monkeypatch.setenv("FIRE_DATA_URI", str(shared_data_dir))
    argv = [
        "train",
        "--model",
        "climatology",
        "--register",
        "--horizon-days",
        "3",
        "--feature-groups",
        "season,recent_fires",
        "--train-years",
        "2001-2003",
        "--val-years",
        "2004",
        "--test-years",
        "2005",
        "--param",
        "smoothing=50",
    ]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    run = MlflowClient(tracking_uri).get_run(summary["run_id"])
    assert run.data.params["feature_groups"] == "season,recent_fires"
    assert run.data.params["horizon_days"] == "3"
    assert run.data.params["smoothing"] == "50"
    assert run.data.params["train_years"] == "2001-2003"
    version = MlflowClient(tracking_uri).get_model_version(
        "corsica-fire-risk", str(summary["registered_version"])
    )
    assert version.tags["horizon_days"] == "3"


def test_cli_train_rejects_unknown_param(tracking_uri, shared_data_dir, capsys, monkeypatch):
    monkeypatch.setenv("FIRE_DATA_URI", str(shared_data_dir))
    assert main(["train", "--model", "random_forest", "--param", "trees=10"]) == 2
    assert "unknown hyperparameters ['trees'] for random_forest" in capsys.readouterr().err
