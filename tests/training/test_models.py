"""Model families: hand-checked rates, monotonic constraints, parameter checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.training.world import make_world
from training import features, models
from training.errors import TrainingError


def rows(codes: list[str], month: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.Timestamp(2021, month, 15),
            "commune_code": pd.array(codes, dtype="string"),
        }
    )


def test_climatology_smooths_toward_department():
    train = rows(["2A001"] * 4 + ["2A002"] * 4, month=7)
    labels = np.array([1, 1, 0, 0, 0, 0, 0, 0])
    model = models.ClimatologyClassifier(smoothing=2.0).fit(train, labels)
    # Department 2A in July: (2 + 2 x 0.25) / (8 + 2) = 0.25, the overall rate here.
    july = model.predict_proba(rows(["2A001", "2A002", "2A999", "2C001"], month=7))[:, 1]
    assert july[0] == pytest.approx((2 + 2 * 0.25) / (4 + 2))
    assert july[1] == pytest.approx((0 + 2 * 0.25) / (4 + 2))
    assert july[2] == pytest.approx(0.25)
    assert july[3] == pytest.approx(0.25)
    # No January rows: the rates fall back to the department's, itself the overall rate.
    january = model.predict_proba(rows(["2A001"], month=1))[:, 1]
    assert january[0] == pytest.approx(0.25)


def test_commune_fire_rate_smooths_toward_overall():
    frame = rows(["2A001"] * 4 + ["2A002"] * 4, month=7).assign(x=np.arange(8.0))
    labels = np.array([1, 1, 0, 0, 0, 0, 0, 0])
    encoder = models.CommuneFireRate(("x",), add_fire_rate=True, smoothing=4.0).fit(frame, labels)
    out = encoder.transform(rows(["2A001", "2A002", "2B999"], month=7).assign(x=1.0))
    assert list(out.columns) == ["x", "commune_fire_rate"]
    np.testing.assert_allclose(out["commune_fire_rate"], [3 / 8, 1 / 8, 0.25])
    assert out.dtypes.unique().tolist() == [np.float32]


def test_gradient_boosting_constraints_follow_feature_names():
    columns = features.feature_columns(features.FEATURE_GROUPS)
    model = models.build_model("hist_gradient_boosting", columns, True, {})
    constraints = model.pipeline.steps[-1][1].monotonic_cst
    named = dict(zip([*columns, "commune_fire_rate"], constraints, strict=True))
    assert named["tx_c"] == 1
    assert named["rh_min_pct"] == -1
    assert named["wind_max_max_7d_ms"] == 1
    assert named["rain_30d_mm"] == -1
    assert named["days_since_rain"] == 1
    assert named["fires_7d"] == 0
    assert named["commune_fire_rate"] == 0


@pytest.mark.parametrize("family", models.MODEL_FAMILIES)
def test_family_predicts_probability_of_fire(family):
    world = make_world()
    dates = pd.date_range("2021-05-01", "2021-07-31")
    frame = features.build_features(world, dates, None)
    labels = features.build_labels(world, dates, 7)["label"].to_numpy()
    columns = features.feature_columns(features.FEATURE_GROUPS)
    parameters = {"hist_gradient_boosting": {"max_iter": 5}}.get(family, {})
    model = models.build_model(family, columns, True, parameters)
    model.fit(frame, labels, X_val=frame, y_val=labels)
    probabilities = model.predict(frame)
    assert probabilities.shape == (len(frame),)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    np.testing.assert_allclose(probabilities, model.predict_proba(frame)[:, 1])


def test_gradient_boosting_records_validation_loss():
    world = make_world()
    dates = pd.date_range("2021-05-01", "2021-07-31")
    frame = features.build_features(world, dates, None)
    labels = features.build_labels(world, dates, 7)["label"].to_numpy()
    columns = features.feature_columns(features.FEATURE_GROUPS)
    parameters = {"max_iter": 4, "early_stopping": True, "min_samples_leaf": 5}
    model = models.build_model("hist_gradient_boosting", columns, False, parameters)
    model.fit(frame, labels, X_val=frame, y_val=labels)
    history = model.validation_loss_history()
    assert len(history) == 5
    assert all(loss > 0 for loss in history)


def test_unknown_hyperparameter_rejected():
    with pytest.raises(TrainingError, match=r"unknown hyperparameters \['learning_rat'\]"):
        models.build_model("hist_gradient_boosting", ["tx_c"], False, {"learning_rat": 0.1})


def test_unknown_family_rejected():
    with pytest.raises(TrainingError, match="unknown model family 'xgboost'"):
        models.build_model("xgboost", ["tx_c"], False, {})


@pytest.mark.parametrize("family", models.MODEL_FAMILIES)
def test_family_saves_and_loads_with_mlflow(family, tmp_path):
    import mlflow.pyfunc
    import mlflow.sklearn

    from training.train import TRUSTED_TYPES

    world = make_world()
    dates = pd.date_range("2021-05-01", "2021-07-31")
    frame = features.build_features(world, dates, None)
    labels = features.build_labels(world, dates, 7)["label"].to_numpy()
    columns = features.feature_columns(features.FEATURE_GROUPS)
    parameters = {"hist_gradient_boosting": {"max_iter": 5}, "random_forest": {"n_estimators": 3}}
    model = models.build_model(family, columns, True, parameters.get(family, {}))
    model.fit(frame, labels)
    path = tmp_path / "model"
    mlflow.sklearn.save_model(model, path, skops_trusted_types=TRUSTED_TYPES)
    loaded = mlflow.pyfunc.load_model(str(path))
    np.testing.assert_allclose(np.asarray(loaded.predict(frame)), model.predict(frame))
