"""The image's entrypoint, run outside Docker: PostgreSQL store, S3 (moto) artifacts, basic auth.

The module starts one deployment, configured as the team's Space. The tests check the Host and
Origin rules, authentication and a model's round trip through the proxied S3 store. They check
that no secret appears in `ps` output or in the log, and that a restart finds everything again.
"""

from __future__ import annotations

import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import mlflow
import numpy as np
import pytest
import requests
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

from tests import servers
from tests.mlflow_server.conftest import (
    EntrypointServer,
    postgres_database,
    postgres_uri,
)

pytestmark = pytest.mark.postgres

SPACE_HOST = "team-space.hf.space"
ADMIN = "admin"
BUCKET = "fire-risk-artifacts"
SECRETS = {
    "database password": "pg-Secret-4417",
    "auth database password": "auth-Secret%40db",  # URL-encoded "@": the ini needs %% for it
    "AWS secret key": "aws-secret-value-7731",
    "admin password": "Adm1n-password-9321",
    "Flask secret key": "flask-secret-key-5531",
}


@pytest.fixture(scope="module")
def bucket(moto_server: servers.RunningServer) -> str:
    s3_client(moto_server.url).create_bucket(Bucket=BUCKET)
    return BUCKET


def s3_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key=SECRETS["AWS secret key"],
        region_name="us-east-1",
    )


def bucket_keys(endpoint: str) -> list[str]:
    pages = s3_client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, moto_server: servers.RunningServer, bucket: str
) -> Iterator[EntrypointServer]:
    """The entrypoint configured as on the Space, with a PostgreSQL store and auth database."""
    with postgres_database() as store, postgres_database() as auth_store:
        server = EntrypointServer(
            variables={
                "BACKEND_STORE_URI": postgres_uri(store, SECRETS["database password"]),
                "S3_BUCKET": bucket,
                "MLFLOW_S3_ENDPOINT_URL": moto_server.url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": SECRETS["AWS secret key"],
                "AWS_DEFAULT_REGION": "us-east-1",
                "ALLOWED_HOSTS": SPACE_HOST,
                "MLFLOW_AUTH_ENABLED": "true",
                "MLFLOW_AUTH_ADMIN_PASSWORD": SECRETS["admin password"],
                "MLFLOW_FLASK_SERVER_SECRET_KEY": SECRETS["Flask secret key"],
                "MLFLOW_AUTH_DATABASE_URI": postgres_uri(
                    auth_store, SECRETS["auth database password"]
                ),
            },
            work_dir=tmp_path_factory.mktemp("deployment"),
        )
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def admin_client(deployment: EntrypointServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Point MLflow at the deployment as the admin, with no AWS credentials, from an empty cwd.

    `MLFLOW_S3_ENDPOINT_URL` names a closed loopback port, so a client that tried to reach S3
    itself would fail here instead of reaching AWS.
    """
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", SECRETS["admin password"])
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", f"http://127.0.0.1:{servers.free_port()}")
    client_dir = tmp_path / "client-cwd"
    client_dir.mkdir()
    monkeypatch.chdir(client_dir)
    mlflow.set_tracking_uri(deployment.url)
    yield MlflowClient(deployment.url)
    while mlflow.active_run() is not None:
        mlflow.end_run("FAILED")
    mlflow.set_tracking_uri(None)


def admin_get(deployment: EntrypointServer, path: str, **headers: str) -> requests.Response:
    return requests.get(
        f"{deployment.url}{path}",
        auth=(ADMIN, SECRETS["admin password"]),
        headers=headers,
        timeout=30,
    )


def log_registered_model(client: MlflowClient, name: str) -> tuple[str, np.ndarray]:
    """Log and register a small classifier, alias it `production`; return run id and inputs."""
    features = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    model = LogisticRegression().fit(features, [0, 0, 0, 1, 1, 1])
    mlflow.set_experiment(f"entrypoint-{name}")
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=name,
            pip_requirements=["scikit-learn"],
        )
    client.set_registered_model_alias(name, "production", info.registered_model_version)
    return run.info.run_id, features


def test_health_open_without_credentials(deployment):
    response = requests.get(f"{deployment.url}/health", timeout=10)
    assert response.status_code == 200


def test_anonymous_request_rejected(deployment):
    response = requests.get(
        f"{deployment.url}/api/2.0/mlflow/experiments/search?max_results=1", timeout=30
    )
    assert response.status_code == 401


def test_admin_request_accepted(deployment):
    response = admin_get(deployment, "/api/2.0/mlflow/experiments/search?max_results=1")
    assert response.status_code == 200


def test_wrong_password_rejected(deployment):
    response = requests.get(
        f"{deployment.url}/api/2.0/mlflow/experiments/search?max_results=1",
        auth=(ADMIN, "not-the-admin-password"),
        timeout=30,
    )
    assert response.status_code == 401


def test_space_host_header_allowed(deployment):
    response = admin_get(
        deployment, "/api/2.0/mlflow/experiments/search?max_results=1", Host=SPACE_HOST
    )
    assert response.status_code == 200


def test_unknown_host_header_rejected(deployment):
    response = admin_get(
        deployment, "/api/2.0/mlflow/experiments/search?max_results=1", Host="evil.example"
    )
    assert response.status_code == 403
    assert "Invalid Host header" in response.text


def test_ui_can_be_framed(deployment):
    response = admin_get(deployment, "/", Host=SPACE_HOST)
    assert response.status_code == 200
    assert "x-frame-options" not in {name.lower() for name in response.headers}


@pytest.mark.parametrize(
    ("origin", "expected_status"),
    [(f"https://{SPACE_HOST}", 200), ("https://evil.example", 403)],
)
def test_ui_write_checks_origin(deployment, origin, expected_status):
    response = requests.post(
        f"{deployment.url}/ajax-api/2.0/mlflow/experiments/create",
        json={"name": f"origin-{uuid.uuid4().hex[:8]}"},
        auth=(ADMIN, SECRETS["admin password"]),
        headers={"Host": SPACE_HOST, "Origin": origin},
        timeout=30,
    )
    assert response.status_code == expected_status


def test_model_round_trip_through_s3(deployment, admin_client, moto_server):
    name = f"entrypoint-model-{uuid.uuid4().hex[:8]}"
    run_id, features = log_registered_model(admin_client, name)

    loaded = mlflow.pyfunc.load_model(f"models:/{name}@production")
    assert list(loaded.predict(features)) == [0, 0, 0, 1, 1, 1]
    assert admin_client.get_run(run_id).info.artifact_uri.startswith("mlflow-artifacts:")
    keys = bucket_keys(moto_server.url)
    assert any(key.startswith("mlflow-artifacts/") and key.endswith("MLmodel") for key in keys)
    assert list(Path.cwd().iterdir()) == []
    assert list(deployment.cwd.iterdir()) == []
    server_tmp = [path.name for path in deployment.tmp_dir.iterdir()]
    assert [name for name in server_tmp if not name.startswith("mlflow-auth.")] == []


def test_process_list_hides_secrets(deployment):
    listing = subprocess.run(
        ["ps", "-e", "-ww", "-o", "args="], capture_output=True, text=True, check=True
    ).stdout
    assert "entrypoint.sh" in listing
    for label, secret in SECRETS.items():
        assert secret not in listing, f"the {label} appears in ps output"


def test_auth_config_file_private(deployment):
    auth_dirs = list(deployment.tmp_dir.glob("mlflow-auth.*"))
    assert len(auth_dirs) == 1
    config = auth_dirs[0] / "basic_auth.ini"
    assert stat.S_IMODE(auth_dirs[0].stat().st_mode) == 0o700
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert "auth-Secret%%40db" in config.read_text()


def test_restart_finds_everything_again(deployment, admin_client, moto_server):
    name = f"restart-model-{uuid.uuid4().hex[:8]}"
    run_id, features = log_registered_model(admin_client, name)
    keys_before = set(bucket_keys(moto_server.url))

    status, leftovers = deployment.stop()
    assert status == 0
    assert leftovers == []
    assert list(deployment.cwd.iterdir()) == []
    assert list(deployment.tmp_dir.glob("mlflow-auth.*")) == []

    deployment.start()
    assert admin_client.get_run(run_id).info.status == "FINISHED"
    version = admin_client.get_model_version_by_alias(name, "production")
    assert version.run_id == run_id
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@production")
    assert list(loaded.predict(features)) == [0, 0, 0, 1, 1, 1]
    assert keys_before <= set(bucket_keys(moto_server.url))
    assert "Upgrading" not in deployment.log.read_text()


def test_log_hides_secrets(deployment):
    log = deployment.log.read_text()
    assert "starting mlflow server" in log
    for label, secret in SECRETS.items():
        assert secret not in log, f"the {label} appears in the server log"
