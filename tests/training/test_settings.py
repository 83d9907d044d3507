"""Settings: defaults, parsing, the .secrets file, hidden secrets, and the README's table."""

from pathlib import Path

import pytest

from training.settings import (
    VARIABLES,
    SettingsError,
    apply_mlflow_client_defaults,
    load_settings,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_without_environment():
    settings = load_settings({"FIRE_SECRETS_FILE": "/nonexistent/.secrets"})
    assert settings.data_uri == "data/"
    assert settings.model_name == "corsica-fire-risk"
    assert settings.production_alias == "production"
    assert settings["DASHBOARD_READ_ONLY"] is False


def test_environment_overrides_secrets_file(tmp_path):
    secrets = tmp_path / ".secrets"
    secrets.write_text("FIRE_DATA_URI=s3://team/data\nAWS_SECRET_ACCESS_KEY=abc123\n")
    settings = load_settings({"FIRE_SECRETS_FILE": str(secrets), "FIRE_DATA_URI": "/srv/data"})
    assert settings.data_uri == "/srv/data"
    assert settings["AWS_SECRET_ACCESS_KEY"] == "abc123"


def test_repr_hides_secrets(tmp_path):
    settings = load_settings(
        {"FIRE_SECRETS_FILE": str(tmp_path / "none"), "MLFLOW_TRACKING_PASSWORD": "hunter2"}
    )
    assert "hunter2" not in repr(settings)
    assert "***" in repr(settings)


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("DASHBOARD_READ_ONLY", "maybe", "DASHBOARD_READ_ONLY='maybe' is not a boolean"),
        ("PORT", "80a", "PORT='80a' is not an integer"),
        ("FIRE_HTTP_TIMEOUT", "soon", "FIRE_HTTP_TIMEOUT='soon' is not a number"),
    ],
)
def test_invalid_value_names_variable(tmp_path, name, raw, message):
    with pytest.raises(SettingsError, match=message):
        load_settings({"FIRE_SECRETS_FILE": str(tmp_path / "none"), name: raw})


def test_unknown_setting_rejected(tmp_path):
    settings = load_settings({"FIRE_SECRETS_FILE": str(tmp_path / "none")})
    with pytest.raises(KeyError, match="'FIRE_TYPO' is not a declared setting"):
        settings["FIRE_TYPO"]


def test_readme_documents_every_variable():
    text = README.read_text(encoding="utf-8")
    missing = [variable.name for variable in VARIABLES if f"`{variable.name}`" not in text]
    assert missing == []


def test_client_defaults_keep_user_values():
    environment = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}
    apply_mlflow_client_defaults(environment)
    assert environment["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "3"
    assert environment["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "30"
