"""Seed a real MLflow server with small scikit-learn runs and registered versions.

The runs are real `mlflow.sklearn` models fitted on a tiny synthetic problem, logged with the
params, metrics and tags that the training code writes, so the registry and the dashboard read
them exactly as they read real training runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import numpy as np  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402


def unique_name(prefix: str) -> str:
    """A registered model or experiment name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _fitted_model(seed: int) -> LogisticRegression:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(200, 3))
    labels = (features[:, 0] + rng.normal(scale=0.5, size=200) > 0).astype(int)
    return LogisticRegression().fit(features, labels)


def _log_figure(title: str, artifact_file: str) -> None:
    figure, axes = plt.subplots(figsize=(3, 2))
    axes.plot([0, 1], [0, 1])
    axes.set_title(title)
    mlflow.log_figure(figure, artifact_file)
    plt.close(figure)


def metrics_for(average_precision: float, steps: int = 3) -> dict[str, float]:
    """Plausible test and validation metrics around a given test average precision."""
    base = {
        "roc_auc": 0.6 + average_precision / 2,
        "average_precision": average_precision,
        "brier_score": 0.1 - average_precision / 10,
        "log_loss": 0.4 - average_precision / 5,
        "brier_skill_score": average_precision / 3,
        "capture_top10pct": average_precision + 0.1,
    }
    return {f"{split}_{name}": value for split in ("val", "test") for name, value in base.items()}


def log_run(
    experiment_name: str,
    run_name: str,
    average_precision: float,
    family: str = "logistic_regression",
    params: Mapping[str, str] | None = None,
    with_model: bool = True,
    with_images: bool = False,
) -> tuple[str, str | None]:
    """Log one run like the training code does; return (run_id, model_uri or None)."""
    mlflow.set_experiment(experiment_name)
    all_params = {
        "model_family": family,
        "horizon_days": "7",
        "feature_groups": "season,commune",
        "train_years": "2006-2008",
        "val_years": "2009-2009",
        "test_years": "2010-2010",
        "data_digest": "0" * 64,
        "C": "1.0",
        **(params or {}),
    }
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_params(all_params)
        metrics = metrics_for(average_precision)
        mlflow.log_metrics(metrics)
        for step in range(3):
            mlflow.log_metric("train_loss", 1.0 / (step + 1) + average_precision, step=step)
        if with_images:
            _log_figure(f"{run_name} ROC", "evaluation/test_roc_pr.png")
            _log_figure(f"{run_name} calibration", "evaluation/test_reliability.png")
        model_uri = None
        if with_model:
            info = mlflow.sklearn.log_model(_fitted_model(len(run_name)), name="model")
            model_uri = info.model_uri
    return run.info.run_id, model_uri


def version_tags(
    average_precision: float,
    test_years: str = "2010-2010",
    horizon_days: str = "7",
    family: str = "logistic_regression",
) -> dict[str, str]:
    """Tags of a registered version as the training code writes them."""
    tags = {
        "model_family": family,
        "horizon_days": horizon_days,
        "feature_groups": "season,commune",
        "train_years": "2006-2008",
        "val_years": "2009-2009",
        "test_years": test_years,
        "data_digest": "0" * 64,
    }
    for name, value in metrics_for(average_precision).items():
        if name.startswith("test_"):
            tags[name] = f"{value:.6f}"
    return tags


def register_version(
    client: MlflowClient,
    model_name: str,
    model_uri: str,
    run_id: str,
    tags: Mapping[str, str],
) -> int:
    """Register `model_uri` as a new version of `model_name` and return its number."""
    try:
        client.get_registered_model(model_name)
    except mlflow.exceptions.MlflowException:
        client.create_registered_model(model_name)
    model_id = model_uri.removeprefix("models:/")
    version = client.create_model_version(
        model_name, model_uri, run_id=run_id, tags=dict(tags), model_id=model_id
    )
    return int(version.version)
