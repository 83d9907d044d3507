"""MLflow calls of a training run: experiment, params, tags, input data, model, registry version.

Connection failures and MLflow rejections become `TrackingError` or `RegistryError`, with the
tracking URI or the model URI in the message.
"""

from __future__ import annotations

import logging
import subprocess
import warnings
from functools import cached_property
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.data.code_dataset_source import CodeDatasetSource
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.pandas_dataset import PandasDataset
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient
from mlflow.types import Schema

from training.errors import RegistryError, TrackingError

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
# MLflow's own limit on one param value is 6000 characters; longer values are cut to it.
MAX_PARAM_LENGTH = 6000
# MLflow's SQL stores keep at most 36 characters of a dataset digest; the data digest is cut to it.
DATASET_DIGEST_LENGTH = 36
SCHEMA_SAMPLE_ROWS = 1000


def start_experiment(tracking_uri: str, experiment_name: str) -> str:
    """Point MLflow at `tracking_uri`, create the experiment if needed, and return its id."""
    mlflow.set_tracking_uri(tracking_uri)
    try:
        experiment = mlflow.set_experiment(experiment_name)
    except MlflowException as error:
        raise TrackingError(
            f"setting experiment {experiment_name!r} on MLflow server {tracking_uri!r} failed: "
            f"{error}. Check MLFLOW_TRACKING_URI and that the server is running."
        ) from error
    except OSError as error:
        raise TrackingError(
            f"cannot reach the MLflow server at {tracking_uri!r}: {error}. "
            "Start it or set MLFLOW_TRACKING_URI."
        ) from error
    return experiment.experiment_id


def git_commit(repo_root: Path = REPO_ROOT) -> str | None:
    """Return the commit of the working tree's HEAD, or None outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "-C", str(repo_root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else None


def log_params(params: dict[str, Any]) -> None:
    """Log every param as a string, cut to MLflow's maximum length."""
    mlflow.log_params({key: str(value)[:MAX_PARAM_LENGTH] for key, value in params.items()})


class PanelDataset(PandasDataset):
    """A PandasDataset whose schema is inferred from a few rows instead of every row.

    MLflow's own inference checks each value in Python, which took about 30 s for the million
    training rows on a 2-core machine. The sample keeps the first rows plus, for each column
    with a missing value anywhere, one row where it is missing. So the column types and the
    required flags come out the same.
    """

    @cached_property
    def schema(self) -> Schema:
        frame = self._df
        missing = frame.isna()
        rows = set(range(min(len(frame), SCHEMA_SAMPLE_ROWS)))
        for column in frame.columns[missing.any().to_numpy()]:
            rows.add(int(missing[column].to_numpy().argmax()))
        sample = frame.iloc[sorted(rows)]
        return infer_signature(sample).inputs


def log_training_input(frame: pd.DataFrame, source_uri: str, digest: str, name: str) -> None:
    """Record the training rows with `mlflow.log_input`: schema, row count, source and digest.

    Only metadata reaches the server, never the rows themselves. The recorded digest is the first
    `DATASET_DIGEST_LENGTH` characters of the data digest.
    """
    with warnings.catch_warnings():
        # MLflow warns when two source classes match a local path (it picks either, both
        # equivalent) and when a schema has integer columns: the 0/1 label never has gaps.
        warnings.filterwarnings("ignore", message=".*interpreted in multiple ways.*")
        warnings.filterwarnings("ignore", message=".*schema contains integer column.*")
        try:
            source = resolve_dataset_source(source_uri)
        except MlflowException:
            # MLflow resolves a source by its URI scheme; for an unknown scheme the URI is kept
            # as a tag of a code source instead.
            logger.debug("MLflow cannot resolve source %r; recording it as a tag", source_uri)
            source = CodeDatasetSource(tags={"data_uri": source_uri})
        dataset = PanelDataset(
            frame,
            source=source,
            name=name,
            digest=digest[:DATASET_DIGEST_LENGTH],
            targets="label",
        )
        mlflow.log_input(dataset, context="training")


def log_metric_history(run_id: str, key: str, values: list[float]) -> None:
    """Log `values` under `key` with steps 0, 1, 2... in one request."""
    if not values:
        return
    timestamp = int(pd.Timestamp.now().timestamp() * 1000)
    metrics = [Metric(key, value, timestamp, step) for step, value in enumerate(values)]
    for start in range(0, len(metrics), 1000):
        MlflowClient().log_batch(run_id, metrics=metrics[start : start + 1000])


def log_model(
    model: Any,
    input_example: pd.DataFrame,
    metadata: dict[str, str],
    trusted_types: list[str],
) -> Any:
    """Log `model` with the sklearn flavour, a signature and an input example; return ModelInfo.

    `mlflow.pyfunc` calls the model's `predict`, which returns P(class 1).
    """
    signature = infer_signature(input_example, model.predict(input_example))
    try:
        model_info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            input_example=input_example,
            metadata=metadata,
            skops_trusted_types=trusted_types,
        )
    except MlflowException as error:
        raise TrackingError(f"logging the model to MLflow failed: {error}") from error
    logger.info("Model logged: %s", model_info.model_uri)
    return model_info


def register_version(model_uri: str, model_name: str, tags: dict[str, str]) -> int:
    """Register `model_uri` as a new version of `model_name` with `tags`; return its number."""
    try:
        version = mlflow.register_model(model_uri, model_name, tags=tags)
    except MlflowException as error:
        raise RegistryError(
            f"registering {model_uri!r} as {model_name!r} failed: {error}"
        ) from error
    logger.info("Registered %s version %s from %s", model_name, version.version, model_uri)
    return int(version.version)
