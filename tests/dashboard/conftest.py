"""Seeded MLflow servers for the dashboard tests.

`seeded_mlflow` contains small logged runs (one named with an HTML payload) and two registered
versions of a small sklearn model. `trained_mlflow` contains two versions trained by the real
training code on the real data, for the risk map. Each uses its own experiment and model name
on the session's server, so other tests registering versions do not change what they see.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest
import streamlit as st
from mlflow.tracking import MlflowClient

from tests.dashboard import seed
from training import registry

XSS_RUN_NAME = "<img src=x onerror=alert(1)>"


@dataclass(frozen=True)
class SeededServer:
    url: str
    experiment_name: str
    model_name: str
    run_ids: tuple[str, ...]
    versions: tuple[int, ...]


def _environment(server: SeededServer, data_dir: Path | None = None) -> dict[str, str]:
    environment = {
        "MLFLOW_TRACKING_URI": server.url,
        "FIRE_EXPERIMENT_NAME": server.experiment_name,
        "FIRE_MODEL_NAME": server.model_name,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    }
    if data_dir is not None:
        environment["FIRE_DATA_URI"] = str(data_dir)
    return environment


@pytest.fixture(scope="session")
def seeded_mlflow(mlflow_server) -> SeededServer:
    """Five logged runs with images and two versions, version 1 in production."""
    experiment = seed.unique_name("dashboard-runs")
    model_name = seed.unique_name("dashboard-model")
    mlflow.set_tracking_uri(mlflow_server.url)
    try:
        run_ids, model_uri = [], None
        for index, (name, family) in enumerate(
            [
                ("baseline", "climatology"),
                ("logistic-small-c", "logistic_regression"),
                ("logistic-large-c", "logistic_regression"),
                ("forest", "random_forest"),
                (XSS_RUN_NAME, "hist_gradient_boosting"),
            ]
        ):
            run_id, uri = seed.log_run(
                experiment,
                name,
                0.2 + index / 50,
                family=family,
                params={"C": str(0.1 * (index + 1))},
                with_model=index < 2,
                with_images=True,
            )
            run_ids.append(run_id)
            model_uri = model_uri or uri
        client = MlflowClient(mlflow_server.url, mlflow_server.url)
        versions = [
            seed.register_version(client, model_name, model_uri, run_ids[0], seed.version_tags(ap))
            for ap in (0.30, 0.35)
        ]
        registry.promote(client, versions[0], "seeded baseline", None, model_name=model_name)
    finally:
        mlflow.set_tracking_uri(None)
    return SeededServer(mlflow_server.url, experiment, model_name, tuple(run_ids), tuple(versions))


@pytest.fixture(scope="session")
def trained_mlflow(mlflow_server, real_dataset) -> SeededServer:
    """Two versions trained on the real data (2006-2010), version 1 in production."""
    from training.train import TrainConfig, train_and_log

    server = SeededServer(
        mlflow_server.url, seed.unique_name("map-runs"), seed.unique_name("map-model"), (), ()
    )
    run_ids, versions = [], []
    with pytest.MonkeyPatch.context() as patch:
        for name, value in _environment(server).items():
            patch.setenv(name, value)
        mlflow.set_tracking_uri(mlflow_server.url)
        try:
            for family in ("climatology", "logistic_regression"):
                config = TrainConfig(
                    model_family=family,
                    train_years=(2006, 2008),
                    val_years=(2009, 2009),
                    test_years=(2010, 2010),
                    register=True,
                )
                result = train_and_log(real_dataset, config)
                run_ids.append(result.run_id)
                versions.append(result.registered_version)
            client = MlflowClient(mlflow_server.url, mlflow_server.url)
            registry.promote(client, versions[0], "first map model", None, server.model_name)
        finally:
            mlflow.set_tracking_uri(None)
    return SeededServer(
        server.url, server.experiment_name, server.model_name, tuple(run_ids), tuple(versions)
    )


@pytest.fixture
def dashboard_env(seeded_mlflow, monkeypatch) -> SeededServer:
    """Point the dashboard of this test at the seeded server, with empty query caches."""
    for name, value in _environment(seeded_mlflow).items():
        monkeypatch.setenv(name, value)
    st.cache_data.clear()
    return seeded_mlflow


@pytest.fixture
def map_env(trained_mlflow, shared_data_dir, monkeypatch) -> SeededServer:
    """Point the dashboard at the server with real trained models and at the real data."""
    for name, value in _environment(trained_mlflow, shared_data_dir).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DASHBOARD_MAP_TILES", "none")
    st.cache_data.clear()
    return trained_mlflow
