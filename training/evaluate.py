"""Metrics and plots of a fire-risk model on one set of (date, commune) rows.

The metric functions are pure: arrays in, one float out. `brier_skill_score` compares against a
reference forecast (climatology fitted on the same training rows), and `capture_top_fraction`
measures what a daily ranking of communes would have caught.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn import metrics as sk_metrics  # noqa: E402

logger = logging.getLogger(__name__)

METRIC_NAMES = (
    "roc_auc",
    "average_precision",
    "brier_score",
    "log_loss",
    "brier_skill_score",
    "capture_top10pct",
)
# Probabilities are clipped to [EPSILON, 1 - EPSILON] in the log loss so that it stays finite.
EPSILON = 1e-15
TOP_FRACTION = 0.10


def roc_auc(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Area under the ROC curve; NaN when the rows hold only one class."""
    if len(np.unique(labels)) < 2:
        return math.nan
    return float(sk_metrics.roc_auc_score(labels, probabilities))


def average_precision(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Area under the precision-recall curve (step interpolation); NaN without positives."""
    if not np.any(np.asarray(labels) == 1):
        return math.nan
    return float(sk_metrics.average_precision_score(labels, probabilities))


def brier_score(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean squared difference between the probability and the 0/1 label."""
    labels = np.asarray(labels, dtype=float)
    return float(np.mean((np.asarray(probabilities, dtype=float) - labels) ** 2))


def log_loss(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean negative log-likelihood in nats, with probabilities clipped to avoid infinities."""
    labels = np.asarray(labels, dtype=float)
    clipped = np.clip(np.asarray(probabilities, dtype=float), EPSILON, 1 - EPSILON)
    return float(-np.mean(labels * np.log(clipped) + (1 - labels) * np.log(1 - clipped)))


def brier_skill_score(
    labels: np.ndarray, probabilities: np.ndarray, reference_probabilities: np.ndarray
) -> float:
    """Return 1 - Brier(model) / Brier(reference): 0 is as good as the reference, 1 is perfect."""
    reference = brier_score(labels, reference_probabilities)
    if reference == 0:
        return math.nan
    return 1.0 - brier_score(labels, probabilities) / reference


def capture_top_fraction(
    dates: np.ndarray,
    probabilities: np.ndarray,
    fire_counts: np.ndarray,
    fraction: float = TOP_FRACTION,
) -> float:
    """Return the share of upcoming fires that start in the riskiest `fraction` of communes.

    Each day, communes are ranked by probability (ties keep row order) and the first
    ceil(fraction x communes of that day) are flagged. The result is the sum of `fire_counts`
    over flagged rows divided by the sum over all rows, or NaN when no fire follows any row.
    """
    frame = pd.DataFrame(
        {
            "date": np.asarray(dates),
            "probability": np.asarray(probabilities, dtype=float),
            "fires": np.asarray(fire_counts, dtype=float),
        }
    )
    total = frame["fires"].sum()
    if total == 0:
        return math.nan
    frame["rank"] = frame.groupby("date")["probability"].rank(method="first", ascending=False)
    per_day = frame.groupby("date")["probability"].transform("size")
    flagged = frame["rank"] <= np.ceil(fraction * per_day)
    return float(frame.loc[flagged, "fires"].sum() / total)


def compute_metrics(
    labels: np.ndarray,
    probabilities: np.ndarray,
    reference_probabilities: np.ndarray,
    dates: np.ndarray,
    fire_counts: np.ndarray,
) -> dict[str, float]:
    """Compute every metric of `METRIC_NAMES` on one set of rows."""
    return {
        "roc_auc": roc_auc(labels, probabilities),
        "average_precision": average_precision(labels, probabilities),
        "brier_score": brier_score(labels, probabilities),
        "log_loss": log_loss(labels, probabilities),
        "brier_skill_score": brier_skill_score(labels, probabilities, reference_probabilities),
        "capture_top10pct": capture_top_fraction(dates, probabilities, fire_counts),
    }


def metrics_by_year(
    labels: np.ndarray,
    probabilities: np.ndarray,
    reference_probabilities: np.ndarray,
    dates: np.ndarray,
    fire_counts: np.ndarray,
) -> pd.DataFrame:
    """Compute the metrics per calendar year of `dates`: one row per year, one column per metric."""
    years = pd.DatetimeIndex(dates).year.to_numpy()
    rows = []
    for year in np.unique(years):
        rows_of_year = years == year
        values = compute_metrics(
            labels[rows_of_year],
            probabilities[rows_of_year],
            reference_probabilities[rows_of_year],
            dates[rows_of_year],
            fire_counts[rows_of_year],
        )
        rows.append({"year": int(year), "rows": int(rows_of_year.sum()), **values})
    return pd.DataFrame(rows)


def plot_roc_and_pr(labels: np.ndarray, probabilities: np.ndarray, path: Path, title: str) -> Path:
    """Save the ROC and precision-recall curves side by side as a PNG."""
    figure, (roc_axis, pr_axis) = plt.subplots(1, 2, figsize=(10, 4.5))
    false_positive, true_positive, _ = sk_metrics.roc_curve(labels, probabilities)
    roc_axis.plot(false_positive, true_positive, label=f"AUC {roc_auc(labels, probabilities):.3f}")
    roc_axis.plot([0, 1], [0, 1], linestyle="--", color="grey")
    roc_axis.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC")
    roc_axis.legend(loc="lower right")
    precision, recall, _ = sk_metrics.precision_recall_curve(labels, probabilities)
    pr_axis.plot(recall, precision, label=f"AP {average_precision(labels, probabilities):.3f}")
    pr_axis.axhline(float(np.mean(labels)), linestyle="--", color="grey", label="base rate")
    pr_axis.set(xlabel="Recall", ylabel="Precision", title="Precision-recall")
    pr_axis.legend(loc="upper right")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_reliability(
    labels: np.ndarray, probabilities: np.ndarray, path: Path, title: str, bins: int = 10
) -> Path:
    """Save a reliability diagram: observed frequency against mean probability per quantile bin."""
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(labels, probabilities, n_bins=bins, strategy="quantile")
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.plot(predicted, observed, marker="o", label="model")
    upper = max(float(np.max(predicted)), float(np.max(observed)))
    axis.plot([0, upper], [0, upper], linestyle="--", color="grey", label="perfect calibration")
    axis.set(xlabel="Mean predicted probability", ylabel="Observed frequency", title=title)
    axis.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def permutation_importance_table(
    model, frame: pd.DataFrame, labels: np.ndarray, max_rows: int, n_repeats: int = 3, seed: int = 0
) -> pd.DataFrame:
    """Return the drop in average precision when each input column is shuffled.

    Uses at most `max_rows` rows drawn at random (seed `seed`) to bound the cost. Columns:
    `feature`, `importance_mean`, `importance_std`, sorted by decreasing mean.
    """
    from sklearn.inspection import permutation_importance

    labels = np.asarray(labels)
    if len(frame) > max_rows:
        rows = np.random.default_rng(seed).choice(len(frame), size=max_rows, replace=False)
        frame, labels = frame.iloc[np.sort(rows)], labels[np.sort(rows)]
    result = permutation_importance(
        model,
        frame,
        labels,
        scoring=lambda estimator, X, y: average_precision(y, estimator.predict(X)),
        n_repeats=n_repeats,
        random_state=seed,
    )
    table = pd.DataFrame(
        {
            "feature": list(frame.columns),
            "importance_mean": result.importances_mean,
            "importance_std": result.importances_std,
        }
    )
    return table.sort_values("importance_mean", ascending=False).reset_index(drop=True)


def markdown_table(table: pd.DataFrame, digits: int = 4) -> str:
    """Format `table` as a GitHub markdown table, floats rounded to `digits` decimals."""

    def cell(value) -> str:
        if isinstance(value, float | np.floating):
            return f"{value:.{digits}f}"
        return str(value)

    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join(" --- " for _ in table.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *rows]) + "\n"
