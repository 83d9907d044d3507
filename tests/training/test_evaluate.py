"""Each metric on a small case computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from training import evaluate

LABELS = np.array([0, 0, 1, 1])
PROBABILITIES = np.array([0.1, 0.4, 0.35, 0.8])


def test_roc_auc_hand_case():
    # Of the 4 (positive, negative) pairs, 3 rank the positive higher: 0.8>0.1, 0.8>0.4, 0.35>0.1.
    assert evaluate.roc_auc(LABELS, PROBABILITIES) == pytest.approx(0.75)


def test_roc_auc_single_class_is_nan():
    assert math.isnan(evaluate.roc_auc(np.zeros(3), np.array([0.1, 0.2, 0.3])))


def test_average_precision_hand_case():
    # Ranked: 0.8 (pos), 0.4 (neg), 0.35 (pos): precision 1 at recall 0.5, 2/3 at recall 1.
    assert evaluate.average_precision(LABELS, PROBABILITIES) == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_average_precision_without_positive_is_nan():
    assert math.isnan(evaluate.average_precision(np.zeros(2), np.array([0.1, 0.2])))


def test_brier_score_hand_case():
    expected = (0.1**2 + 0.4**2 + 0.65**2 + 0.2**2) / 4
    assert evaluate.brier_score(LABELS, PROBABILITIES) == pytest.approx(expected)
    assert expected == pytest.approx(0.158125)


def test_log_loss_hand_case():
    expected = -(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4
    assert evaluate.log_loss(LABELS, PROBABILITIES) == pytest.approx(expected)
    assert expected == pytest.approx(0.472288, abs=1e-6)


def test_log_loss_finite_for_certain_mistake():
    assert math.isfinite(evaluate.log_loss(np.array([1, 0]), np.array([0.0, 1.0])))


def test_brier_skill_score_hand_case():
    reference = np.full(4, 0.5)
    # Brier of the constant 0.5 is 0.25.
    assert evaluate.brier_skill_score(LABELS, PROBABILITIES, reference) == pytest.approx(
        1 - 0.158125 / 0.25
    )
    assert evaluate.brier_skill_score(LABELS, reference, reference) == pytest.approx(0.0)


def test_capture_top_fraction_hand_case():
    dates = np.repeat(pd.to_datetime(["2021-07-01", "2021-07-02"]).values, 10)
    probabilities = np.zeros(20)
    fires = np.zeros(20)
    # Day 1: the riskiest commune has 2 of the day's 3 upcoming fires.
    probabilities[3], fires[3] = 0.9, 2
    probabilities[5], fires[5] = 0.5, 1
    # Day 2: the riskiest commune has none; the 1 fire is elsewhere.
    probabilities[10] = 0.8
    probabilities[15], fires[15] = 0.2, 1
    # 10 % of 10 communes is 1 commune a day, so 2 of the 4 fires are captured.
    assert evaluate.capture_top_fraction(dates, probabilities, fires) == pytest.approx(0.5)


def test_capture_rounds_up_breaks_ties():
    dates = np.repeat(np.datetime64("2021-07-01"), 12)
    probabilities = np.full(12, 0.3)
    fires = np.zeros(12)
    fires[1], fires[2] = 1, 1
    # ceil(0.1 * 12) = 2 communes flagged: rows 0 and 1 on a full tie.
    assert evaluate.capture_top_fraction(dates, probabilities, fires) == pytest.approx(0.5)


def test_capture_without_fires_is_nan():
    dates = np.repeat(np.datetime64("2021-07-01"), 3)
    assert math.isnan(evaluate.capture_top_fraction(dates, np.ones(3), np.zeros(3)))


def test_metrics_by_year_splits_rows():
    dates = pd.to_datetime(["2020-07-01"] * 4 + ["2021-07-01"] * 4).values
    labels = np.concatenate([LABELS, LABELS])
    probabilities = np.concatenate([PROBABILITIES, PROBABILITIES[::-1]])
    table = evaluate.metrics_by_year(labels, probabilities, np.full(8, 0.5), dates, labels)
    assert table["year"].tolist() == [2020, 2021]
    assert table["rows"].tolist() == [4, 4]
    assert table.loc[0, "roc_auc"] == pytest.approx(0.75)
    assert table.loc[1, "roc_auc"] == pytest.approx(0.25)


def test_markdown_table_rounds_floats():
    table = pd.DataFrame({"year": [2014], "roc_auc": [0.123456]})
    assert (
        evaluate.markdown_table(table) == "| year | roc_auc |\n| --- | --- |\n| 2014 | 0.1235 |\n"
    )


def test_plots_write_png(tmp_path):
    labels = np.array([0, 1] * 50)
    probabilities = np.linspace(0, 1, 100)
    roc = evaluate.plot_roc_and_pr(labels, probabilities, tmp_path / "roc.png", "test")
    reliability = evaluate.plot_reliability(labels, probabilities, tmp_path / "rel.png", "test")
    assert roc.read_bytes()[:4] == b"\x89PNG"
    assert reliability.read_bytes()[:4] == b"\x89PNG"
