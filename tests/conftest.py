"""Shared fixtures: a clean environment, the real data folder, real servers on loopback.

Tests that need something a fresh machine may lack (the real data, PostgreSQL, Chromium) skip
with a reason that explains how to enable them. Under CI (`CI=true`) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import servers

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
UNDER_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Variables that a developer's shell may set and that would leak into tests.
_LEAKY_PREFIXES = ("MLFLOW_", "FIRE_", "AWS_", "DASHBOARD_", "BACKEND_STORE_URI", "S3_BUCKET")


def require(condition: bool, reason: str) -> None:
    """Skip the test when `condition` is false, or fail under CI where nothing may skip."""
    if condition:
        return
    if UNDER_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Remove project, MLflow and AWS variables, and turn off telemetry and metadata look-ups."""
    for name in list(os.environ):
        if name.startswith(_LEAKY_PREFIXES):
            monkeypatch.delenv(name)
    for name, value in servers.QUIET_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FIRE_SECRETS_FILE", str(tmp_path / "no-secrets"))
    monkeypatch.setenv("FIRE_DATA_CACHE_DIR", str(tmp_path / "data-cache"))


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The real Corsica data folder (`../shared/data`, or `FIRE_TEST_DATA_DIR`)."""
    path = Path(os.environ.get("FIRE_TEST_DATA_DIR", DEFAULT_SHARED_DATA))
    require(
        (path / "communes" / "communes-corse.geojson").is_file(),
        f"real data not found at {path}: put the shared data folder there or set "
        "FIRE_TEST_DATA_DIR",
    )
    return path


@pytest.fixture(scope="session")
def real_dataset(shared_data_dir: Path):
    """The real data loaded once per test session."""
    from training.data import load_dataset

    return load_dataset(str(shared_data_dir))


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.RunningServer]:
    """A real `mlflow server` on loopback with SQLite and local artifacts, shared by the session."""
    with servers.mlflow_server(tmp_path_factory.mktemp("mlflow")) as server:
        yield server


@pytest.fixture
def tracking_uri(mlflow_server: servers.RunningServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point MLflow clients of this test at the session's server."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    mlflow.set_tracking_uri(mlflow_server.url)
    yield mlflow_server.url
    while mlflow.active_run() is not None:
        mlflow.end_run("FAILED")
    mlflow.set_tracking_uri(None)


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.RunningServer]:
    """A real `moto_server` on loopback acting as the S3 endpoint."""
    with servers.moto_s3_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture
def s3_endpoint(moto_server: servers.RunningServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3 and MLflow of this test at moto, with throw-away credentials."""
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", moto_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return moto_server.url


def postgres_available() -> bool:
    """Tell whether PostgreSQL accepts connections on 127.0.0.1:5432 as user postgres."""
    if shutil.which("psql") is None:
        return False
    result = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", "select 1"],
        capture_output=True,
        timeout=10,
        check=False,
    )
    return result.returncode == 0
