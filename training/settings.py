"""Every environment variable the product reads: its type, default and meaning.

Values come from the process environment first, then from an optional git-ignored `.secrets`
file in dotenv format (the path can be changed with `FIRE_SECRETS_FILE`). Importing this module
reads nothing; call `load_settings()`. A bad value raises `SettingsError` naming the variable.
Secret values never appear in `repr` or in error messages.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

DEFAULT_SECRETS_FILE = ".secrets"


class SettingsError(ValueError):
    """An environment variable has a value of the wrong form."""


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean: use 1/true/yes or 0/false/no.")


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer.") from None


def _parse_float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number.") from None


_PARSERS: dict[type, Callable[[str, str], Any]] = {
    bool: _parse_bool,
    int: _parse_int,
    float: _parse_float,
    str: lambda _name, raw: raw,
}


@dataclass(frozen=True)
class Variable:
    """One declared environment variable."""

    name: str
    type: type
    default: Any
    doc: str
    secret: bool = False


VARIABLES: tuple[Variable, ...] = (
    # Data
    Variable(
        "FIRE_DATA_URI",
        str,
        "data/",
        "Where the data folder is: a local path, an https:// base URL or an s3://bucket/prefix.",
    ),
    Variable(
        "FIRE_DATA_CACHE_DIR",
        str,
        ".state/data-cache",
        "Local folder where files read from https:// or s3:// are cached; a cached file is "
        "downloaded again only when its ETag, Last-Modified or manifest sha256 changes.",
    ),
    Variable(
        "FIRE_HTTP_TIMEOUT",
        float,
        60.0,
        "Timeout in seconds of one HTTP request made to read or download data.",
    ),
    Variable("FIRE_HTTP_RETRIES", int, 3, "Attempts per file when reading or downloading data."),
    # MLflow clients (training and dashboard)
    Variable(
        "MLFLOW_TRACKING_URI",
        str,
        "http://127.0.0.1:5000",
        "MLflow tracking server used by training and the dashboard.",
    ),
    Variable(
        "FIRE_EXPERIMENT_NAME",
        str,
        "corsica-fire-risk",
        "MLflow experiment where training runs are logged.",
    ),
    Variable(
        "FIRE_MODEL_NAME",
        str,
        "corsica-fire-risk",
        "Registered model name in the MLflow model registry.",
    ),
    Variable(
        "FIRE_PRODUCTION_ALIAS",
        str,
        "production",
        "Registry alias that marks the version used by the risk map.",
    ),
    Variable(
        "MLFLOW_TRACKING_USERNAME",
        str,
        "",
        "Basic-auth user name for the MLflow server, when it has authentication on.",
    ),
    Variable(
        "MLFLOW_TRACKING_PASSWORD",
        str,
        "",
        "Basic-auth password for the MLflow server.",
        secret=True,
    ),
    Variable(
        "MLFLOW_TRACKING_TOKEN",
        str,
        "",
        "Bearer token for the MLflow server (a Hugging Face token for a private Space).",
        secret=True,
    ),
    Variable(
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
        int,
        3,
        "Retries of one MLflow request made by the command line (MLflow's own default of 7 "
        "backs off for about 4 minutes when the server is down; the dashboard uses 1).",
    ),
    Variable(
        "MLFLOW_HTTP_REQUEST_TIMEOUT",
        int,
        120,
        "Seconds before one MLflow request times out (the dashboard uses 10).",
    ),
    # S3 (read by boto3 and MLflow themselves; declared here so that they are documented)
    Variable(
        "MLFLOW_S3_ENDPOINT_URL",
        str,
        "",
        "S3-compatible endpoint (MinIO, moto, Scaleway...). Empty means AWS S3.",
    ),
    Variable("AWS_ACCESS_KEY_ID", str, "", "S3 access key id.", secret=True),
    Variable("AWS_SECRET_ACCESS_KEY", str, "", "S3 secret access key.", secret=True),
    Variable("AWS_DEFAULT_REGION", str, "", "S3 region, for example eu-west-3."),
    # Dashboard
    Variable(
        "DASHBOARD_READ_ONLY",
        bool,
        False,
        "Hide every dashboard control that changes the registry.",
    ),
    Variable(
        "DASHBOARD_CACHE_TTL",
        int,
        30,
        "Seconds that the dashboard keeps an MLflow query result before asking again.",
    ),
    Variable(
        "DASHBOARD_MAP_TILES",
        str,
        "OpenStreetMap",
        "Base map tiles of the risk map, as a folium tiles name or URL template; 'none' draws "
        "the commune polygons without a base map (no request to a tile server).",
    ),
    Variable(
        "MLFLOW_UI_URL",
        str,
        "",
        "Public address of the MLflow UI for dashboard links; empty means MLFLOW_TRACKING_URI.",
    ),
    # MLflow server (the local launcher and the Docker entrypoint)
    Variable(
        "MLFLOW_SERVER_STATE_DIR",
        str,
        ".state/mlflow",
        "Local launcher: folder of the SQLite store, the artifacts and the log file.",
    ),
    Variable("HOST", str, "127.0.0.1", "Server: address to listen on (0.0.0.0 in the image)."),
    Variable("PORT", int, 5000, "Server: port to listen on (7860 in the image)."),
    Variable(
        "BACKEND_STORE_URI",
        str,
        "",
        "Server: backend store URI, for example postgresql://user:pass@host/db; empty means "
        "SQLite under MLFLOW_SERVER_STATE_DIR.",
        secret=True,
    ),
    Variable(
        "MLFLOW_DEFAULT_ARTIFACT_ROOT",
        str,
        "",
        "Server: where artifacts are stored, for example s3://bucket/mlflow; empty means "
        "s3://$S3_BUCKET/mlflow-artifacts when S3_BUCKET is set, else a local folder.",
    ),
    Variable("S3_BUCKET", str, "", "Server: S3 bucket for artifacts when no root is given."),
    Variable(
        "ALLOWED_HOSTS",
        str,
        "",
        "Server: comma-separated extra Host headers accepted, such as the Space host "
        "(localhost and 127.0.0.1 are always allowed).",
    ),
    Variable(
        "SPACE_HOST",
        str,
        "",
        "Server: set by Hugging Face Spaces to the Space's host name, which is then allowed too.",
    ),
    Variable(
        "MLFLOW_SERVER_WORKERS",
        int,
        2,
        "Server: number of server worker processes.",
    ),
    Variable(
        "MLFLOW_SERVER_X_FRAME_OPTIONS",
        str,
        "",
        "Server: X-Frame-Options of the UI. Empty means NONE in the image, so that Hugging Face "
        "can show the UI in its page, and SAMEORIGIN with the local launcher.",
    ),
    Variable(
        "MLFLOW_AUTH_ENABLED",
        bool,
        False,
        "Server: turn on MLflow basic authentication.",
    ),
    Variable(
        "MLFLOW_AUTH_ADMIN_USERNAME",
        str,
        "admin",
        "Server: admin user name when basic authentication is on.",
    ),
    Variable(
        "MLFLOW_AUTH_ADMIN_PASSWORD",
        str,
        "",
        "Server: admin password when basic authentication is on (required, not 'password1234').",
        secret=True,
    ),
    Variable(
        "MLFLOW_FLASK_SERVER_SECRET_KEY",
        str,
        "",
        "Server: secret key signing sessions when basic authentication is on.",
        secret=True,
    ),
    Variable(
        "MLFLOW_AUTH_DATABASE_URI",
        str,
        "",
        "Server: database of users and permissions; empty means the backend store's database "
        "is not reused and SQLite under the state folder is used.",
        secret=True,
    ),
)

_BY_NAME = {variable.name: variable for variable in VARIABLES}


@dataclass(frozen=True)
class Settings:
    """Resolved values of every declared variable; secrets are hidden in `repr`."""

    values: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        if name not in _BY_NAME:
            raise KeyError(
                f"{name!r} is not a declared setting; declare it in training/settings.py"
            )
        return self.values[name]

    def __repr__(self) -> str:
        shown = {
            name: ("***" if _BY_NAME[name].secret and value else value)
            for name, value in self.values.items()
        }
        return f"Settings({shown!r})"

    @property
    def data_uri(self) -> str:
        return self["FIRE_DATA_URI"]

    @property
    def tracking_uri(self) -> str:
        return self["MLFLOW_TRACKING_URI"]

    @property
    def experiment_name(self) -> str:
        return self["FIRE_EXPERIMENT_NAME"]

    @property
    def model_name(self) -> str:
        return self["FIRE_MODEL_NAME"]

    @property
    def production_alias(self) -> str:
        return self["FIRE_PRODUCTION_ALIAS"]


def read_secrets_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a dotenv file; a missing file gives an empty mapping."""
    secrets_path = Path(path)
    if not secrets_path.is_file():
        return {}
    return {key: value for key, value in dotenv_values(secrets_path).items() if value is not None}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve every declared variable from `environ` (default `os.environ`) and `.secrets`.

    The environment wins over the `.secrets` file, which wins over the declared default.

    Raises:
        SettingsError: a variable has a value that does not parse as its declared type.
    """
    environment = dict(os.environ if environ is None else environ)
    secrets_path = environment.get("FIRE_SECRETS_FILE", DEFAULT_SECRETS_FILE)
    merged = {**read_secrets_file(secrets_path), **environment}
    values = {}
    for variable in VARIABLES:
        raw = merged.get(variable.name)
        if raw is None or (raw == "" and variable.type is not str):
            values[variable.name] = variable.default
        else:
            values[variable.name] = _PARSERS[variable.type](variable.name, raw)
    return Settings(values=values)


def export_secrets_to_environment(environ: dict[str, str] | None = None) -> None:
    """Copy `.secrets` values into the environment, for libraries that read it (boto3, MLflow).

    Entry points call this once at start-up; values already in the environment are kept.
    """
    environment = os.environ if environ is None else environ
    secrets_path = environment.get("FIRE_SECRETS_FILE", DEFAULT_SECRETS_FILE)
    for key, value in read_secrets_file(secrets_path).items():
        environment.setdefault(key, value)


def apply_mlflow_client_defaults(environ: dict[str, str] | None = None) -> None:
    """Set the command line's MLflow retry budget unless the environment already sets one.

    MLflow reads these variables itself, so they must be in the environment before its first
    request.
    """
    environment = os.environ if environ is None else environ
    for name in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"):
        environment.setdefault(name, str(_BY_NAME[name].default))


def describe_variables() -> list[dict[str, Any]]:
    """List the declared variables as dicts (name, type, default, doc) for docs and `--help`."""
    return [
        {
            "name": variable.name,
            "type": variable.type.__name__,
            "default": variable.default,
            "doc": variable.doc,
        }
        for variable in VARIABLES
    ]
