"""Train one model family on whole-year splits, evaluate it and log everything to MLflow.

`train_and_log` builds the panel of (date, commune) rows once, fits on the training years, stops
boosting early on the validation years, reports metrics on the validation and test years, logs the
run and, on request, registers the model. A failure inside the run ends it FAILED before anything
is registered, because registration is the last step of the run.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from training import evaluate, tracking
from training.errors import FeatureError, TrainingError
from training.features import (
    FEATURE_BUILDER_VERSION,
    FEATURE_GROUPS,
    build_features,
    build_labels,
    feature_columns,
    fire_data_range,
    group_ranges,
    validate_groups,
)
from training.models import (
    MODEL_FAMILIES,
    ClimatologyClassifier,
    build_model,
    resolve_hyperparameters,
)
from training.settings import load_settings

logger = logging.getLogger(__name__)

YearRange = tuple[int, int]
# Default split: the last TEST_YEARS whole years are for testing, the VAL_YEARS before them for
# validation, and the rest for training.
TEST_YEARS = 2
VAL_YEARS = 2
MIN_TRAIN_YEARS = 1
# Validation rows used for permutation importance, drawn at random to bound its cost.
PERMUTATION_ROWS = 20_000
TRUSTED_TYPES = [
    "training.models.FireRiskClassifier",
    "training.models.CommuneFireRate",
    "training.models.ClimatologyClassifier",
    # Raw tree nodes of HistGradientBoosting and of the random forest's trees. skops does not
    # trust them by default, but this code writes the file itself.
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
    # The input dtype that SimpleImputer records.
    "numpy.dtype",
]


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run: family, label horizon, feature groups and year splits.

    None for `feature_groups` means every group with data over the period; None for the years
    means the default split of the longest period that the groups cover.
    """

    model_family: str = "hist_gradient_boosting"
    horizon_days: int = 7
    feature_groups: tuple[str, ...] | None = None
    train_years: YearRange | None = None
    val_years: YearRange | None = None
    test_years: YearRange | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    register: bool = False


@dataclass(frozen=True)
class TrainResult:
    """Outcome of a finished run."""

    run_id: str
    model_uri: str
    registered_version: int | None
    metrics: dict[str, float]


@dataclass(frozen=True)
class Split:
    """Feature groups and whole-year periods that a run uses."""

    groups: tuple[str, ...]
    train_years: YearRange
    val_years: YearRange
    test_years: YearRange

    @property
    def first_date(self) -> dt.date:
        return dt.date(self.train_years[0], 1, 1)

    @property
    def last_date(self) -> dt.date:
        return dt.date(self.test_years[1], 12, 31)


def format_years(years: YearRange) -> str:
    return f"{years[0]}-{years[1]}"


def parse_years(text: str) -> YearRange:
    """Parse "2004-2011" or "2012" into (first_year, last_year); raise TrainingError otherwise."""
    parts = text.strip().split("-")
    try:
        years = (int(parts[0]), int(parts[-1]))
    except ValueError:
        raise TrainingError(
            f"years {text!r} are invalid: write FIRST-LAST such as 2004-2011, or one year"
        ) from None
    if len(parts) > 2 or years[0] > years[1]:
        raise TrainingError(f"years {text!r} are invalid: write FIRST-LAST with FIRST <= LAST")
    return years


def covered_years(dataset: Any, groups: tuple[str, ...], horizon_days: int) -> YearRange | None:
    """Return the whole years whose features exist and whose labels end inside the fire data."""
    ranges = group_ranges(dataset)
    fire_first, fire_last = fire_data_range(dataset)
    first, last = fire_first, fire_last - dt.timedelta(days=horizon_days)
    for group in groups:
        if group not in ranges:
            return None
        if ranges[group] is not None:
            first = max(first, ranges[group][0])
            last = min(last, ranges[group][1])
    first_year = first.year if (first.month, first.day) == (1, 1) else first.year + 1
    last_year = last.year if (last.month, last.day) == (12, 31) else last.year - 1
    return (first_year, last_year) if first_year <= last_year else None


def default_split(dataset: Any, groups: tuple[str, ...], horizon_days: int) -> Split:
    """Split the longest covered period: last 2 years test, 2 before validation, rest training."""
    years = covered_years(dataset, groups, horizon_days)
    needed = TEST_YEARS + VAL_YEARS + MIN_TRAIN_YEARS
    if years is None or years[1] - years[0] + 1 < needed:
        raise TrainingError(
            f"feature groups {', '.join(groups)} cover the whole years {years!r}, fewer than the "
            f"{needed} a default split needs: drop the heat_humidity_wind or rain group, or pass "
            "--train-years, --val-years and --test-years"
        )
    test = (years[1] - TEST_YEARS + 1, years[1])
    val = (test[0] - VAL_YEARS, test[0] - 1)
    return Split(groups, (years[0], val[0] - 1), val, test)


def resolve_split(dataset: Any, config: TrainConfig) -> Split:
    """Choose the feature groups and years of a run from `config` and the data coverage."""
    given = [config.train_years, config.val_years, config.test_years]
    if any(years is not None for years in given) and not all(years is not None for years in given):
        raise TrainingError(
            "pass all of --train-years, --val-years and --test-years, or none of them"
        )
    if config.feature_groups is not None:
        groups = validate_groups(config.feature_groups)
    elif config.train_years is None:
        groups = tuple(g for g in FEATURE_GROUPS if g in group_ranges(dataset))
    else:
        groups = _groups_covering(dataset, config)
    if config.train_years is None:
        return default_split(dataset, groups, config.horizon_days)
    split = Split(groups, config.train_years, config.val_years, config.test_years)
    _check_split(dataset, split, config.horizon_days)
    return split


def _groups_covering(dataset: Any, config: TrainConfig) -> tuple[str, ...]:
    first, last = config.train_years[0], config.test_years[1]
    chosen = []
    for group in FEATURE_GROUPS:
        years = covered_years(dataset, (group,), config.horizon_days)
        if years is not None and years[0] <= first and last <= years[1]:
            chosen.append(group)
    logger.info("Feature groups with data over %d-%d: %s", first, last, ", ".join(chosen))
    return tuple(chosen)


def _check_split(dataset: Any, split: Split, horizon_days: int) -> None:
    order = [split.train_years, split.val_years, split.test_years]
    if not (order[0][1] < order[1][0] and order[1][1] < order[2][0]):
        raise TrainingError(
            f"years train {format_years(order[0])}, val {format_years(order[1])}, test "
            f"{format_years(order[2])} overlap or are out of order: use train < val < test"
        )
    years = covered_years(dataset, split.groups, horizon_days)
    if years is None or order[0][0] < years[0] or order[2][1] > years[1]:
        raise TrainingError(
            f"years {order[0][0]}-{order[2][1]} are not all covered by feature groups "
            f"{', '.join(split.groups)} with a {horizon_days}-day horizon (covered: {years!r}): "
            "choose years inside that period or other groups"
        )


def build_panel(dataset: Any, split: Split, horizon_days: int) -> pd.DataFrame:
    """Build features and labels of every day of the split, with a `year` column."""
    dates = pd.date_range(split.first_date, split.last_date, freq="D")
    features = build_features(dataset, dates, split.groups)
    labels = build_labels(dataset, dates, horizon_days)
    features["fires_next_h"] = labels["fires_next_h"].to_numpy()
    features["label"] = labels["label"].to_numpy()
    features["year"] = pd.DatetimeIndex(features["date"]).year.to_numpy()
    return features


def _rows_of(panel: pd.DataFrame, years: YearRange) -> pd.DataFrame:
    mask = (panel["year"] >= years[0]) & (panel["year"] <= years[1])
    return panel.loc[mask].reset_index(drop=True)


def _model_input(frame: pd.DataFrame, groups: tuple[str, ...]) -> pd.DataFrame:
    return frame[["date", "commune_code", *feature_columns(groups)]]


def run_params(config: TrainConfig, split: Split, digest: str) -> dict[str, Any]:
    """Return the params a run logs: hyperparameters, family, horizon, groups, years, digest."""
    hyperparameters = resolve_hyperparameters(config.model_family, config.hyperparameters)
    return {
        **hyperparameters,
        "model_family": config.model_family,
        "horizon_days": config.horizon_days,
        "feature_groups": ",".join(split.groups),
        "feature_builder_version": FEATURE_BUILDER_VERSION,
        "train_years": format_years(split.train_years),
        "val_years": format_years(split.val_years),
        "test_years": format_years(split.test_years),
        "data_digest": digest,
    }


def train_and_log(dataset: Any, config: TrainConfig) -> TrainResult:
    """Train `config.model_family` on `dataset`, log the run to MLflow and optionally register it.

    Raises TrainingError for an invalid configuration or a failed fit (the run then ends
    FAILED), TrackingError when the server cannot be reached, RegistryError when registering
    fails.
    """
    if config.model_family not in MODEL_FAMILIES:
        raise TrainingError(
            f"unknown model family {config.model_family!r}: expected one of "
            f"{', '.join(MODEL_FAMILIES)}"
        )
    settings = load_settings()
    split = resolve_split(dataset, config)
    params = run_params(config, split, dataset.digest)
    logger.info(
        "Building features %s for %d-%d",
        ",".join(split.groups),
        split.train_years[0],
        split.test_years[1],
    )
    try:
        panel = build_panel(dataset, split, config.horizon_days)
    except FeatureError as error:
        raise TrainingError(f"cannot build the training rows: {error}") from error
    tracking.start_experiment(settings.tracking_uri, settings.experiment_name)
    with mlflow.start_run() as run:
        logger.info("Run started: %s (%s)", run.info.run_id, config.model_family)
        result = _run(dataset, config, split, panel, params, run.info.run_id, settings)
    return result


def _run(
    dataset: Any,
    config: TrainConfig,
    split: Split,
    panel: pd.DataFrame,
    params: dict[str, Any],
    run_id: str,
    settings: Any,
) -> TrainResult:
    """Log, fit, evaluate and register inside the active run."""
    train = _rows_of(panel, split.train_years)
    val = _rows_of(panel, split.val_years)
    test = _rows_of(panel, split.test_years)
    tracking.log_params(params)
    mlflow.set_tags(_run_tags(dataset, train, val, test))
    tracking.log_training_input(
        _model_input(train, split.groups).assign(label=train["label"]),
        dataset.uri,
        dataset.digest,
        f"corsica-panel-{format_years(split.train_years)}",
    )
    model = build_model(
        config.model_family,
        feature_columns(split.groups),
        "commune" in split.groups,
        config.hyperparameters,
    )
    logger.info(
        "Fitting %s on %d rows (about a minute for gradient boosting on 2 cores)",
        config.model_family,
        len(train),
    )
    fit_started = time.monotonic()
    try:
        model.fit(
            _model_input(train, split.groups),
            train["label"].to_numpy(),
            X_val=_model_input(val, split.groups),
            y_val=val["label"].to_numpy(),
        )
    except (ValueError, TypeError) as error:
        raise TrainingError(f"fitting {config.model_family} failed: {error}") from error
    logger.info("Fitted %s in %.0f s", config.model_family, time.monotonic() - fit_started)
    tracking.log_metric_history(run_id, "val_loss", model.validation_loss_history())

    logger.info("Evaluating on validation and test years")
    reference = ClimatologyClassifier().fit(_model_input(train, split.groups), train["label"])
    metrics = _log_evaluation(model, reference, {"val": val, "test": test}, split.groups)
    mlflow.log_dict(dataset.report, "data/check_report.json")

    metadata = {
        "feature_groups": ",".join(split.groups),
        "feature_builder_version": FEATURE_BUILDER_VERSION,
        "horizon_days": str(config.horizon_days),
        "model_family": config.model_family,
    }
    example = _model_input(test, split.groups).head(5).reset_index(drop=True)
    model_info = tracking.log_model(model, example, metadata, TRUSTED_TYPES)
    version = None
    if config.register:
        version = tracking.register_version(
            model_info.model_uri, settings.model_name, _version_tags(params, metrics)
        )
    return TrainResult(run_id, model_info.model_uri, version, metrics)


def _log_evaluation(model, reference, sets: dict[str, pd.DataFrame], groups) -> dict[str, float]:
    """Log metrics, curves, the reliability plot, the per-year table and permutation importance."""
    metrics: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        for name, frame in sets.items():
            inputs = _model_input(frame, groups)
            columns = _evaluation_columns(frame, model.predict(inputs), reference, inputs)
            values = evaluate.compute_metrics(*columns)
            metrics.update({f"{name}_{metric}": value for metric, value in values.items()})
            labels, probabilities = columns[0], columns[1]
            evaluate.plot_roc_and_pr(labels, probabilities, out / f"{name}_roc_pr.png", name)
            evaluate.plot_reliability(labels, probabilities, out / f"{name}_reliability.png", name)
            if name == "test":
                per_year = evaluate.metrics_by_year(*columns)
                per_year.to_csv(out / "test_metrics_by_year.csv", index=False)
                (out / "test_metrics_by_year.md").write_text(evaluate.markdown_table(per_year))
                metrics.update(_per_year_metrics(per_year))
        importance = evaluate.permutation_importance_table(
            model,
            _model_input(sets["val"], groups),
            sets["val"]["label"].to_numpy(),
            max_rows=PERMUTATION_ROWS,
        )
        importance.to_csv(out / "permutation_importance_val.csv", index=False)
        (out / "permutation_importance_val.md").write_text(evaluate.markdown_table(importance))
        mlflow.log_artifacts(folder, "evaluation")
    finite = {key: value for key, value in metrics.items() if np.isfinite(value)}
    mlflow.log_metrics(finite)
    return finite


def _evaluation_columns(frame: pd.DataFrame, probabilities, reference, inputs) -> tuple:
    return (
        frame["label"].to_numpy(),
        np.asarray(probabilities, dtype=float),
        reference.predict_positive(inputs),
        frame["date"].to_numpy(),
        frame["fires_next_h"].to_numpy(),
    )


def _per_year_metrics(per_year: pd.DataFrame) -> dict[str, float]:
    metrics = {}
    for row in per_year.to_dict("records"):
        for name in evaluate.METRIC_NAMES:
            metrics[f"test_{row['year']}_{name}"] = float(row[name])
    return metrics


def _run_tags(dataset: Any, train: pd.DataFrame, val: pd.DataFrame, test: pd.DataFrame) -> dict:
    tags = {
        "data_uri": dataset.uri,
        "rows_train": str(len(train)),
        "rows_val": str(len(val)),
        "rows_test": str(len(test)),
        "positives_train": str(int(train["label"].sum())),
    }
    commit = tracking.git_commit()
    if commit:
        tags["git_commit"] = commit
    return tags


VERSION_TAG_PARAMS = (
    "model_family",
    "horizon_days",
    "feature_groups",
    "train_years",
    "val_years",
    "test_years",
    "data_digest",
)


def _version_tags(params: dict[str, Any], metrics: dict[str, float]) -> dict[str, str]:
    tags = {key: str(params[key]) for key in VERSION_TAG_PARAMS}
    for name in evaluate.METRIC_NAMES:
        value = metrics.get(f"test_{name}")
        if value is not None and np.isfinite(value):
            tags[f"test_{name}"] = f"{value:.6g}"
    return tags
