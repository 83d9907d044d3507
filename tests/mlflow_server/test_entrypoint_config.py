"""The entrypoint's checks that stop it before `mlflow server` starts, with exit status 2."""

from __future__ import annotations

import pytest

from tests.mlflow_server.conftest import run_entrypoint


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({}, "BACKEND_STORE_URI is missing"),
        ({"BACKEND_STORE_URI": "sqlite:///x.db"}, "no artifact store"),
        ({"BACKEND_STORE_URI": "sqlite:///x.db", "S3_BUCKET": "b", "PORT": "70000"}, "PORT="),
        (
            {"BACKEND_STORE_URI": "sqlite:///x.db", "S3_BUCKET": "b", "ALLOWED_HOSTS": "https://x"},
            "is not a host name",
        ),
        (
            {
                "BACKEND_STORE_URI": "sqlite:///x.db",
                "S3_BUCKET": "b",
                "MLFLOW_AUTH_ENABLED": "maybe",
            },
            "MLFLOW_AUTH_ENABLED='maybe' is not a boolean",
        ),
    ],
    ids=[
        "no-backend-store",
        "no-artifact-store",
        "bad-port",
        "allowed-host-with-scheme",
        "auth-flag-not-boolean",
    ],
)
def test_invalid_configuration_rejected(tmp_path, variables, message):
    result = run_entrypoint(variables, tmp_path)
    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({}, "MLFLOW_AUTH_ADMIN_PASSWORD is missing"),
        ({"MLFLOW_AUTH_ADMIN_PASSWORD": "password1234"}, "former published default"),
        ({"MLFLOW_AUTH_ADMIN_PASSWORD": "Adm1n-password-9321"}, "MLFLOW_FLASK_SERVER_SECRET_KEY"),
    ],
    ids=["missing-password", "default-password", "missing-secret-key"],
)
def test_basic_auth_misconfiguration_rejected(tmp_path, variables, message):
    base = {"BACKEND_STORE_URI": "sqlite:///x.db", "S3_BUCKET": "b", "MLFLOW_AUTH_ENABLED": "true"}
    result = run_entrypoint({**base, **variables}, tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    for value in variables.values():
        assert value not in result.stderr
    assert not (tmp_path / "x.db").exists()
