"""Model families as scikit-learn estimators that take the feature builder's frame as input.

Every model is a `FireRiskClassifier`: its input is the frame of `training.features.build_features`
(`date`, `commune_code`, then feature columns), `predict` returns P(fire in the next days) and
`predict_proba` the two class columns, so that `mlflow.pyfunc` returns the probability.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from training.errors import TrainingError
from training.features import MONOTONIC_DIRECTIONS

logger = logging.getLogger(__name__)

MODEL_FAMILIES = ("climatology", "logistic_regression", "random_forest", "hist_gradient_boosting")

DEFAULT_HYPERPARAMETERS: dict[str, dict[str, Any]] = {
    "climatology": {"smoothing": 100.0},
    "logistic_regression": {"C": 1.0, "max_iter": 1000},
    "random_forest": {
        "n_estimators": 100,
        "max_depth": 12,
        "min_samples_leaf": 50,
        "max_samples": 0.2,
        "n_jobs": -1,
        "random_state": 0,
    },
    "hist_gradient_boosting": {
        "learning_rate": 0.05,
        "max_iter": 300,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 200,
        "l2_regularization": 1.0,
        "early_stopping": True,
        "n_iter_no_change": 20,
        "random_state": 0,
    },
}

# Rows a commune's own rate counts for against the overall rate in `CommuneFireRate`.
COMMUNE_RATE_SMOOTHING = 365.0


def _month_index(frame: pd.DataFrame) -> np.ndarray:
    return pd.DatetimeIndex(frame["date"]).month.to_numpy() - 1


class CommuneFireRate(TransformerMixin, BaseEstimator):
    """Select the feature columns and, when asked, add each commune's long-run fire rate.

    The rate is the share of positive training rows of the commune, smoothed toward the overall
    rate with `smoothing` pseudo-rows, so it is learned on the training years only and travels
    with the model. Unknown communes get the overall rate. Output: a float32 DataFrame.
    """

    def __init__(
        self,
        columns: tuple[str, ...] = (),
        add_fire_rate: bool = False,
        smoothing: float = COMMUNE_RATE_SMOOTHING,
    ):
        self.columns = columns
        self.add_fire_rate = add_fire_rate
        self.smoothing = smoothing

    def fit(self, X: pd.DataFrame, y: Any = None) -> CommuneFireRate:
        missing = [column for column in self.columns if column not in X.columns]
        if missing:
            raise TrainingError(f"input frame lacks feature columns {missing!r}")
        if self.add_fire_rate:
            if y is None:
                raise TrainingError("CommuneFireRate needs the labels to learn the fire rates")
            target = pd.Series(np.asarray(y, dtype=float), index=X.index)
            grouped = target.groupby(X["commune_code"].astype(str).to_numpy())
            self.overall_rate_ = float(target.mean())
            rates = (grouped.sum() + self.smoothing * self.overall_rate_) / (
                grouped.count() + self.smoothing
            )
            self.commune_codes_ = rates.index.to_numpy(dtype=str)
            self.commune_rates_ = rates.to_numpy(dtype=float)
        self.feature_names_out_ = list(self.columns) + (
            ["commune_fire_rate"] if self.add_fire_rate else []
        )
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        out = X[list(self.columns)].astype(np.float32)
        if self.add_fire_rate:
            positions = pd.Index(self.commune_codes_).get_indexer(X["commune_code"].astype(str))
            rates = np.where(positions >= 0, self.commune_rates_[positions], self.overall_rate_)
            out = out.assign(commune_fire_rate=rates.astype(np.float32))
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.feature_names_out_, dtype=object)


class ClimatologyClassifier(ClassifierMixin, BaseEstimator):
    """Predict the commune-by-month rate of the training rows, smoothed toward its department.

    rate(commune, month) = (positives + smoothing * rate(department, month)) / (rows + smoothing),
    where the department is the first two characters of the INSEE code. Needs only the `date`
    and `commune_code` columns.
    """

    def __init__(self, smoothing: float = 100.0):
        self.smoothing = smoothing

    def fit(self, X: pd.DataFrame, y: Any) -> ClimatologyClassifier:
        target = np.asarray(y, dtype=float)
        codes = X["commune_code"].astype(str).to_numpy()
        months = _month_index(X)
        self.classes_ = np.array([0, 1])
        self.global_rate_ = float(target.mean())
        self.department_codes_, department_index = np.unique(
            [code[:2] for code in codes], return_inverse=True
        )
        department_sums = _sum_by(department_index, months, target, len(self.department_codes_))
        department_rows = _sum_by(department_index, months, None, len(self.department_codes_))
        department_rates = (department_sums + self.smoothing * self.global_rate_) / (
            department_rows + self.smoothing
        )
        self.department_rates_ = department_rates
        self.commune_codes_, commune_index = np.unique(codes, return_inverse=True)
        commune_sums = _sum_by(commune_index, months, target, len(self.commune_codes_))
        commune_rows = _sum_by(commune_index, months, None, len(self.commune_codes_))
        commune_department = np.searchsorted(
            self.department_codes_, [code[:2] for code in self.commune_codes_]
        )
        prior = department_rates[commune_department]
        self.commune_rates_ = (commune_sums + self.smoothing * prior) / (
            commune_rows + self.smoothing
        )
        return self

    def predict_positive(self, X: pd.DataFrame) -> np.ndarray:
        codes = X["commune_code"].astype(str).to_numpy()
        months = _month_index(X)
        result = np.full(len(codes), self.global_rate_)
        department_position = pd.Index(self.department_codes_).get_indexer([c[:2] for c in codes])
        known_department = department_position >= 0
        result[known_department] = self.department_rates_[
            department_position[known_department], months[known_department]
        ]
        commune_position = pd.Index(self.commune_codes_).get_indexer(codes)
        known = commune_position >= 0
        result[known] = self.commune_rates_[commune_position[known], months[known]]
        return result

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        positive = self.predict_positive(X)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_positive(X) >= 0.5).astype(int)


def _sum_by(group: np.ndarray, months: np.ndarray, values: np.ndarray | None, n: int) -> np.ndarray:
    """Sum `values` (or count rows when None) per (group, month) into an (n x 12) array."""
    totals = np.zeros((n, 12))
    np.add.at(totals, (group, months), 1.0 if values is None else values)
    return totals


class FireRiskClassifier(ClassifierMixin, BaseEstimator):
    """Wrap a pipeline so that `predict` returns P(class 1), the value `mlflow.pyfunc` serves.

    `fit` accepts a validation set: a final HistGradientBoostingClassifier receives it, after the
    preceding steps transformed it, to stop early and record its validation loss per iteration.
    """

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline

    def fit(
        self,
        X: pd.DataFrame,
        y: Any,
        X_val: pd.DataFrame | None = None,
        y_val: Any = None,
    ) -> FireRiskClassifier:
        self.pipeline_ = clone(self.pipeline)
        final = self.pipeline_.steps[-1][1]
        if X_val is not None and isinstance(final, HistGradientBoostingClassifier):
            preprocess = self.pipeline_[:-1]
            train_matrix = preprocess.fit_transform(X, y)
            val_matrix = preprocess.transform(X_val)
            final.fit(train_matrix, y, X_val=val_matrix, y_val=y_val)
        else:
            self.pipeline_.fit(X, y)
        self.classes_ = self.pipeline_.classes_
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.pipeline_.predict_proba(X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.pipeline_.predict_proba(X)[:, 1]

    @property
    def final_estimator(self) -> Any:
        return self.pipeline_.steps[-1][1]

    def validation_loss_history(self) -> list[float]:
        """Return the validation log loss after each boosting iteration, or [] if none."""
        scores = getattr(self.final_estimator, "validation_score_", None)
        if scores is None or len(scores) == 0:
            return []
        # With scoring="loss", scikit-learn stores the negative loss; entry 0 is the initial model.
        return [float(-score) for score in scores]


def build_model(
    family: str, columns: list[str], use_fire_rate: bool, hyperparameters: dict[str, Any]
) -> FireRiskClassifier:
    """Build the unfitted model of `family` over feature `columns`.

    `use_fire_rate` adds the commune's long-run fire rate learned on the training rows.
    Raises TrainingError for an unknown family or hyperparameter.
    """
    if family not in MODEL_FAMILIES:
        raise TrainingError(
            f"unknown model family {family!r}: expected one of {', '.join(MODEL_FAMILIES)}"
        )
    parameters = resolve_hyperparameters(family, hyperparameters)
    if family == "climatology":
        return FireRiskClassifier(Pipeline([("climatology", ClimatologyClassifier(**parameters))]))
    select = CommuneFireRate(tuple(columns), use_fire_rate, COMMUNE_RATE_SMOOTHING)
    steps: list[tuple[str, Any]] = [("features", select)]
    if family == "logistic_regression":
        steps += [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            ("classifier", LogisticRegression(**parameters)),
        ]
    elif family == "random_forest":
        steps += [
            ("impute", SimpleImputer(strategy="median")),
            ("classifier", RandomForestClassifier(**parameters)),
        ]
    else:
        names = list(columns) + (["commune_fire_rate"] if use_fire_rate else [])
        constraints = [MONOTONIC_DIRECTIONS.get(name, 0) for name in names]
        steps.append(
            ("classifier", HistGradientBoostingClassifier(monotonic_cst=constraints, **parameters))
        )
    return FireRiskClassifier(Pipeline(steps))


def resolve_hyperparameters(family: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """Merge `overrides` into the family's defaults; raise TrainingError on an unknown name."""
    defaults = DEFAULT_HYPERPARAMETERS[family]
    estimator = {
        "climatology": ClimatologyClassifier,
        "logistic_regression": LogisticRegression,
        "random_forest": RandomForestClassifier,
        "hist_gradient_boosting": HistGradientBoostingClassifier,
    }[family]
    accepted = set(estimator().get_params()) - {"monotonic_cst"}
    unknown = sorted(set(overrides) - accepted)
    if unknown:
        raise TrainingError(
            f"unknown hyperparameters {unknown!r} for {family}: expected names among "
            f"{', '.join(sorted(accepted))}"
        )
    return {**defaults, **overrides}
