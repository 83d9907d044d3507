"""Training on the real data against a real MLflow server, and serving the logged models.

The runs use a short period (train 2006-2008, validation 2009, test 2010) to stay fast.
"""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from training import features
from training.__main__ import main
from training.errors import FeatureError, TrainingError
from training.models import MODEL_FAMILIES
from training.predict import load_model, predict_communes, valid_date_range
from training.train import TrainConfig, parse_years, resolve_split, train_and_log

SHORT_YEARS = {"train_years": (2006, 2008), "val_years": (2009, 2009), "test_years": (2010, 2010)}
CONTRACT_PARAMS = (
    "model_family",
    "horizon_days",
    "feature_groups",
    "train_years",
    "val_years",
    "test_years",
    "data_digest",
)


@pytest.fixture(scope="module")
def trained(mlflow_server, real_dataset, tmp_path_factory):
    """Train and register climatology and hist_gradient_boosting once for the module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
        patch.setenv("FIRE_SECRETS_FILE", str(tmp_path_factory.mktemp("secrets") / "none"))
        for name in ("FIRE_EXPERIMENT_NAME", "FIRE_MODEL_NAME"):
            patch.delenv(name, raising=False)
        results = {
            family: train_and_log(
                real_dataset,
                TrainConfig(
                    model_family=family, register=True, hyperparameters=params, **SHORT_YEARS
                ),
            )
            for family, params in (
                ("climatology", {}),
                ("hist_gradient_boosting", {"max_iter": 40}),
            )
        }
    mlflow.set_tracking_uri(None)
    return results


@pytest.mark.parametrize("family", MODEL_FAMILIES)
def test_default_split_on_real_data(real_dataset, family):
    split = resolve_split(real_dataset, TrainConfig(model_family=family))
    assert split.groups == features.FEATURE_GROUPS
    assert split.train_years == (2004, 2011)
    assert split.val_years == (2012, 2013)
    assert split.test_years == (2014, 2015)


def test_split_keeps_groups_with_data(real_dataset):
    config = TrainConfig(train_years=(1990, 1999), val_years=(2000, 2001), test_years=(2002, 2003))
    split = resolve_split(real_dataset, config)
    assert split.groups == ("season", "commune", "recent_fires", "rain")


def test_split_rejects_overlapping_years(real_dataset):
    config = TrainConfig(train_years=(2004, 2010), val_years=(2010, 2011), test_years=(2012, 2013))
    with pytest.raises(TrainingError, match="overlap or are out of order"):
        resolve_split(real_dataset, config)


def test_split_rejects_years_without_weather(real_dataset):
    config = TrainConfig(
        feature_groups=("heat_humidity_wind",),
        train_years=(2010, 2013),
        val_years=(2014, 2015),
        test_years=(2016, 2017),
    )
    with pytest.raises(TrainingError, match="not all covered"):
        resolve_split(real_dataset, config)


def test_split_rejects_partial_years(real_dataset):
    with pytest.raises(TrainingError, match="pass all of --train-years"):
        resolve_split(real_dataset, TrainConfig(train_years=(2004, 2011)))


@pytest.mark.parametrize(
    ("text", "expected"), [("2004-2011", (2004, 2011)), ("2012", (2012, 2012))]
)
def test_parse_years(text, expected):
    assert parse_years(text) == expected


@pytest.mark.parametrize("text", ["2011-2004", "20x4", "2004-2005-2006"])
def test_parse_years_rejects(text):
    with pytest.raises(TrainingError, match=repr(text)):
        parse_years(text)


@pytest.mark.parametrize("family", ["climatology", "hist_gradient_boosting"])
def test_run_logs_params_metrics_tags(trained, real_dataset, mlflow_server, family):
    result = trained[family]
    run = MlflowClient(mlflow_server.url).get_run(result.run_id)
    assert run.info.status == "FINISHED"
    params = run.data.params
    for name in CONTRACT_PARAMS:
        assert name in params
    assert params["model_family"] == family
    assert params["horizon_days"] == "7"
    assert params["feature_groups"] == ",".join(features.FEATURE_GROUPS)
    assert params["train_years"] == "2006-2008"
    assert params["val_years"] == "2009-2009"
    assert params["test_years"] == "2010-2010"
    assert params["data_digest"] == real_dataset.digest
    if family == "hist_gradient_boosting":
        assert params["max_iter"] == "40"
        assert params["learning_rate"] == "0.05"
        assert params["min_samples_leaf"] == "200"
    else:
        assert params["smoothing"] == "100.0"
    for split in ("val", "test"):
        for metric in ("roc_auc", "average_precision", "brier_score", "log_loss"):
            assert f"{split}_{metric}" in run.data.metrics
        assert 0 < run.data.metrics[f"{split}_capture_top10pct"] <= 1
    assert "test_2010_average_precision" in run.data.metrics
    assert 0.5 < run.data.metrics["test_roc_auc"] <= 1
    tags = run.data.tags
    assert tags["data_uri"] == real_dataset.uri
    assert int(tags["rows_train"]) == 360 * (365 + 365 + 366)
    assert int(tags["rows_test"]) == 360 * 365
    assert len(tags["git_commit"]) == 40


def test_climatology_skill_is_zero(trained, mlflow_server):
    metrics = MlflowClient(mlflow_server.url).get_run(trained["climatology"].run_id).data.metrics
    assert metrics["test_brier_skill_score"] == pytest.approx(0.0, abs=1e-9)


def test_boosting_logs_loss_history(trained, mlflow_server):
    client = MlflowClient(mlflow_server.url)
    history = client.get_metric_history(trained["hist_gradient_boosting"].run_id, "val_loss")
    steps = [metric.step for metric in history]
    assert steps == list(range(len(history)))
    assert 2 <= len(history) <= 41
    assert min(metric.value for metric in history) < history[0].value


def test_run_records_input_and_artifacts(trained, real_dataset, mlflow_server):
    client = MlflowClient(mlflow_server.url)
    run = client.get_run(trained["hist_gradient_boosting"].run_id)
    inputs = run.inputs.dataset_inputs
    assert len(inputs) == 1
    assert inputs[0].dataset.digest == real_dataset.digest[:36]
    assert json.loads(inputs[0].dataset.profile)["num_rows"] == 360 * 1096
    artifacts = {item.path for item in client.list_artifacts(run.info.run_id, "evaluation")}
    for name in (
        "test_roc_pr.png",
        "test_reliability.png",
        "val_roc_pr.png",
        "test_metrics_by_year.csv",
        "permutation_importance_val.csv",
    ):
        assert f"evaluation/{name}" in artifacts
    report = client.list_artifacts(run.info.run_id, "data")
    assert [item.path for item in report] == ["data/check_report.json"]


@pytest.mark.parametrize("family", ["climatology", "hist_gradient_boosting"])
def test_registered_version_tags(trained, mlflow_server, real_dataset, family):
    result = trained[family]
    assert result.registered_version is not None
    version = MlflowClient(mlflow_server.url).get_model_version(
        "corsica-fire-risk", str(result.registered_version)
    )
    assert version.run_id == result.run_id
    for name in CONTRACT_PARAMS:
        assert name in version.tags
    for name in ("roc_auc", "average_precision", "brier_score", "log_loss", "capture_top10pct"):
        assert f"test_{name}" in version.tags
    assert version.tags["model_family"] == family
    assert version.tags["test_years"] == "2010-2010"
    assert version.tags["data_digest"] == real_dataset.digest
    assert float(version.tags["test_average_precision"]) == pytest.approx(
        result.metrics["test_average_precision"], rel=1e-5
    )


def test_boosting_beats_climatology_on_same_rows(trained):
    boosting = trained["hist_gradient_boosting"].metrics
    climatology = trained["climatology"].metrics
    assert boosting["test_average_precision"] > climatology["test_average_precision"]
    assert boosting["test_brier_skill_score"] > 0


@pytest.fixture
def boosting_model(trained, tracking_uri):
    return load_model(trained["hist_gradient_boosting"].model_uri)


def test_predict_communes_real_data(boosting_model, real_dataset):
    table = predict_communes(real_dataset, boosting_model, "2009-07-23")
    assert len(table) == 360
    assert list(table.columns) == ["commune_code", "name", "department", "probability"]
    assert table["commune_code"].is_monotonic_increasing
    assert table["probability"].between(0, 1).all()
    assert table.set_index("commune_code").loc["2A004", "name"] == "Ajaccio"
    assert table["probability"].std() > 0


def test_predict_matches_training_features(boosting_model, real_dataset):
    """predict_communes returns what the pyfunc returns on the builder's rows of that date."""
    assert boosting_model.feature_groups == features.FEATURE_GROUPS
    assert boosting_model.horizon_days == 7
    assert boosting_model.feature_builder_version == features.FEATURE_BUILDER_VERSION
    table = predict_communes(real_dataset, boosting_model, "2010-08-01")
    frame = features.build_features(real_dataset, ["2010-08-01"], features.FEATURE_GROUPS)
    direct = boosting_model.pyfunc.predict(frame)
    np.testing.assert_allclose(table["probability"], np.asarray(direct), rtol=1e-6)


def test_predict_rejects_date_outside_range(boosting_model, real_dataset):
    first, last = valid_date_range(real_dataset, boosting_model)
    assert (first.isoformat(), last.isoformat()) == ("2004-01-01", "2016-10-27")
    with pytest.raises(FeatureError, match="choose a date from 2004-01-01 to 2016-10-27"):
        predict_communes(real_dataset, boosting_model, "2020-07-01")


def hotter_drier_windier(frame: pd.DataFrame) -> pd.DataFrame:
    changed = frame.copy()
    for column in ("tx_c", "t12_c", "tx_max_7d_c"):
        changed[column] += 4.0
    for column in ("rh_min_pct", "rh12_pct", "rh_min_min_7d_pct"):
        changed[column] = (changed[column] - 15.0).clip(lower=1.0)
    for column in ("wind_max_ms", "wind12_ms", "wind_max_max_7d_ms"):
        changed[column] += 3.0
    for column in ("rain_7d_mm", "rain_30d_mm", "rain_90d_mm"):
        changed[column] *= 0.5
    changed["days_since_rain"] += 5.0
    return changed


def test_hotter_drier_windier_never_lowers_risk(boosting_model, real_dataset):
    dates = pd.date_range("2010-01-05", "2010-12-31", freq="13D")
    frame = features.build_features(real_dataset, dates, features.FEATURE_GROUPS)
    base = np.asarray(boosting_model.pyfunc.predict(frame))
    worse = np.asarray(boosting_model.pyfunc.predict(hotter_drier_windier(frame)))
    assert (worse >= base - 1e-12).all()
    # The change does move the risk, so the check is not vacuous.
    assert (worse > base + 1e-6).mean() > 0.1


def test_failed_run_registers_nothing(tracking_uri, real_dataset):
    client = MlflowClient(tracking_uri)
    versions_before = client.search_model_versions("name='corsica-fire-risk'")
    config = TrainConfig(
        model_family="hist_gradient_boosting",
        register=True,
        hyperparameters={"learning_rate": -1.0},
        **SHORT_YEARS,
    )
    with pytest.raises(TrainingError, match="fitting hist_gradient_boosting failed"):
        train_and_log(real_dataset, config)
    experiment = client.get_experiment_by_name("corsica-fire-risk")
    latest = client.search_runs([experiment.experiment_id], order_by=["start_time DESC"])[0]
    assert latest.info.status == "FAILED"
    assert latest.data.params["learning_rate"] == "-1.0"
    versions_after = client.search_model_versions("name='corsica-fire-risk'")
    assert len(versions_after) == len(versions_before)
    assert all(version.run_id != latest.info.run_id for version in versions_after)


def test_cli_predict_writes_csv(trained, tracking_uri, shared_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("FIRE_DATA_URI", str(shared_data_dir))
    version = trained["hist_gradient_boosting"].registered_version
    output = tmp_path / "risk.csv"
    argv = [
        "predict",
        "--date",
        "2009-07-23",
        "--model-uri",
        f"models:/corsica-fire-risk/{version}",
    ]
    assert main([*argv, "--output", str(output)]) == 0
    table = pd.read_csv(output, dtype={"commune_code": str})
    assert len(table) == 360
    assert table["probability"].between(0, 1).all()


def test_cli_predict_rejects_date_outside_range(
    trained, tracking_uri, shared_data_dir, capsys, monkeypatch
):
    monkeypatch.setenv("FIRE_DATA_URI", str(shared_data_dir))
    version = trained["hist_gradient_boosting"].registered_version
    argv = [
        "predict",
        "--date",
        "2019-07-23",
        "--model-uri",
        f"models:/corsica-fire-risk/{version}",
    ]
    assert main(argv) == 2
    message = capsys.readouterr().err
    assert "'2019-07-23' is outside the range" in message
    assert "choose a date from 2004-01-01 to 2016-10-27" in message
