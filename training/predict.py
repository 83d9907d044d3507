"""Serve a logged model: rebuild its features for one date and predict every commune.

The features come from the same `build_features` that built the training rows, with the groups
and horizon that the model recorded in its MLflow metadata.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from training.errors import FeatureError, TrackingError
from training.features import (
    FEATURE_BUILDER_VERSION,
    available_range,
    build_features,
    feature_columns,
    to_dates,
    validate_groups,
)

logger = logging.getLogger(__name__)

REQUIRED_METADATA = ("feature_groups", "horizon_days", "feature_builder_version", "model_family")


@dataclass(frozen=True)
class LoadedModel:
    """A pyfunc model and the feature settings recorded with it."""

    model_uri: str
    pyfunc: Any
    feature_groups: tuple[str, ...]
    horizon_days: int
    feature_builder_version: str
    model_family: str


def load_model(model_uri: str) -> LoadedModel:
    """Load `model_uri` (models:/name@alias, models:/name/3, runs:/..., models:/m-...).

    Raises TrackingError when the model cannot be loaded or lacks the feature metadata.
    """
    try:
        pyfunc = mlflow.pyfunc.load_model(model_uri)
    except (MlflowException, OSError) as error:
        raise TrackingError(
            f"cannot load model {model_uri!r}: {error}. Check the URI and MLFLOW_TRACKING_URI."
        ) from error
    metadata = pyfunc.metadata.metadata or {}
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise TrackingError(
            f"model {model_uri!r} lacks metadata {missing!r}: it was not logged by "
            "`python -m training train`; train and register a model with it"
        )
    version = str(metadata["feature_builder_version"])
    if version != FEATURE_BUILDER_VERSION:
        logger.warning(
            "Model %s was trained with feature builder %s, this code builds version %s",
            model_uri,
            version,
            FEATURE_BUILDER_VERSION,
        )
    logger.info("Loaded model %s (%s)", model_uri, metadata["model_family"])
    return LoadedModel(
        model_uri=model_uri,
        pyfunc=pyfunc,
        feature_groups=validate_groups(str(metadata["feature_groups"])),
        horizon_days=int(metadata["horizon_days"]),
        feature_builder_version=version,
        model_family=str(metadata["model_family"]),
    )


def valid_date_range(dataset: Any, loaded: LoadedModel) -> tuple[dt.date, dt.date]:
    """Return the first and last dates whose features the model's groups can build."""
    return available_range(dataset, loaded.feature_groups)


def predict_communes(dataset: Any, loaded: LoadedModel, date: Any) -> pd.DataFrame:
    """Predict every commune for `date`: P(at least one fire in the next horizon_days days).

    Returns commune_code, name, department and probability, sorted by commune_code. Raises
    FeatureError naming the valid range when `date` is outside it.
    """
    requested_dates = to_dates(date)
    if len(requested_dates) != 1:
        raise FeatureError(f"expected one date, got {date!r}")
    features = build_features(dataset, requested_dates, loaded.feature_groups)
    inputs = features[["date", "commune_code", *feature_columns(loaded.feature_groups)]]
    probabilities = np.asarray(loaded.pyfunc.predict(inputs), dtype=float).ravel()
    communes = dataset.communes.set_index("code")
    codes = features["commune_code"].astype(str)
    result = pd.DataFrame(
        {
            "commune_code": features["commune_code"].to_numpy(),
            "name": communes.loc[codes, "name"].to_numpy(),
            "department": communes.loc[codes, "department"].to_numpy(),
            "probability": np.clip(probabilities, 0.0, 1.0),
        }
    )
    return result.sort_values("commune_code").reset_index(drop=True)
