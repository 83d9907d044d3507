"""Every MLflow call the dashboard makes, as plain functions plus thin Streamlit caches.

The plain functions take an `MlflowClient` and return frozen dataclasses or the registry's
types, so tests call them directly. The `cached_*` wrappers key on the tracking URI, keep
results for DASHBOARD_CACHE_TTL seconds and are cleared after every registry change.
Transport failures become `TrackingError` with a message saying what to check.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from mlflow.entities import Run
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from training import registry
from training.errors import TrackingError
from training.registry import call_mlflow
from training.settings import load_settings

logger = logging.getLogger(__name__)

# A down server must be reported within seconds, not after MLflow's default 120 s timeout
# with 7 retries. Values already set in the environment win.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.2",
}
RUNS_PAGE_MAX = 1000
# One search_runs request returns at most 50,000 runs (MLflow's server-side maximum).
COUNT_PAGE_SIZE = 50_000
IMAGE_FOLDERS = ("", "evaluation", "plots")


def apply_http_defaults(environ: dict[str, str] | None = None) -> None:
    """Shorten MLflow's HTTP timeout and retries unless the environment sets them."""
    environment = os.environ if environ is None else environ
    for name, value in HTTP_DEFAULTS.items():
        environment.setdefault(name, value)


@dataclass(frozen=True)
class ServerStatus:
    """Reachability of the tracking server, and the production version when it responds."""

    tracking_uri: str
    reachable: bool
    error: str
    production_version: int | None
    legacy: bool


@dataclass(frozen=True)
class ExperimentInfo:
    experiment_id: str
    name: str


@dataclass(frozen=True)
class RunInfo:
    """One run as the pages show it; params and metrics are the latest logged values."""

    run_id: str
    name: str
    experiment_id: str
    status: str
    start_time: dt.datetime | None
    params: Mapping[str, str]
    metrics: Mapping[str, float]

    @property
    def model_family(self) -> str:
        return self.params.get("model_family", "")

    @property
    def label(self) -> str:
        return f"{self.name or '(no name)'} · {self.run_id[:8]}"


@dataclass(frozen=True)
class RunsPage:
    runs: tuple[RunInfo, ...]
    next_page_token: str | None


@dataclass(frozen=True)
class RunImage:
    run_id: str
    path: str
    content: bytes


def run_info(run: Run) -> RunInfo:
    start = run.info.start_time
    return RunInfo(
        run_id=run.info.run_id,
        name=run.info.run_name or "",
        experiment_id=run.info.experiment_id,
        status=run.info.status,
        start_time=None if start is None else dt.datetime.fromtimestamp(start / 1000, dt.UTC),
        params=dict(run.data.params),
        metrics=dict(run.data.metrics),
    )


def server_status(client: MlflowClient, model_name: str, alias: str) -> ServerStatus:
    """Check the server with one registry request; a missing model still means it responds."""
    uri = client.tracking_uri
    try:
        state = registry.get_state(client, model_name, alias)
    except TrackingError as error:
        return ServerStatus(uri, False, str(error), None, False)
    except registry.RegistryError:
        return ServerStatus(uri, True, "", None, False)
    return ServerStatus(uri, True, "", state.production_version, state.is_legacy)


def list_experiments(client: MlflowClient) -> tuple[ExperimentInfo, ...]:
    experiments = call_mlflow("list experiments", client.search_experiments, max_results=1000)
    return tuple(ExperimentInfo(e.experiment_id, e.name) for e in experiments)


def find_experiment(client: MlflowClient, name: str) -> ExperimentInfo | None:
    experiment = call_mlflow(f"find experiment {name!r}", client.get_experiment_by_name, name)
    return None if experiment is None else ExperimentInfo(experiment.experiment_id, name)


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def build_run_filter(
    family: str = "",
    started_after: dt.date | None = None,
    metric: str = "",
    metric_min: float | None = None,
    extra: str = "",
) -> str:
    """Build an MLflow search filter string from the Compare page's filter widgets.

    `extra` is appended as written (for example `params.C = '1.0'`), so MLflow validates it
    and its error reaches the user.
    """
    clauses = []
    if family:
        clauses.append(f"params.model_family = {_quote(family)}")
    if started_after is not None:
        since = dt.datetime.combine(started_after, dt.time(), tzinfo=dt.UTC)
        clauses.append(f"attributes.start_time >= {int(since.timestamp() * 1000)}")
    if metric and metric_min is not None:
        clauses.append(f"metrics.`{metric}` >= {float(metric_min)!r}")
    if extra.strip():
        clauses.append(extra.strip())
    return " and ".join(clauses)


def search_runs_page(
    client: MlflowClient,
    experiment_id: str,
    filter_string: str = "",
    max_results: int = 100,
    page_token: str | None = None,
    order_by: tuple[str, ...] = ("attributes.start_time DESC",),
) -> RunsPage:
    """Fetch one page of runs with a single `search_runs` request."""
    page = call_mlflow(
        "search runs",
        client.search_runs,
        [experiment_id],
        filter_string=filter_string,
        max_results=min(max_results, RUNS_PAGE_MAX),
        order_by=list(order_by),
        page_token=page_token,
    )
    return RunsPage(tuple(run_info(run) for run in page), page.token or None)


def count_runs(client: MlflowClient, experiment_id: str) -> int:
    """Count the runs of an experiment, one request per 50,000 runs."""
    total, token = 0, None
    while True:
        page = call_mlflow(
            "count runs",
            client.search_runs,
            [experiment_id],
            max_results=COUNT_PAGE_SIZE,
            page_token=token,
        )
        total += len(page)
        token = page.token
        if not token:
            return total


def metric_histories(
    client: MlflowClient, run_ids: tuple[str, ...], key: str
) -> dict[str, list[tuple[int, float]]]:
    """Fetch the (step, value) history of one metric for each selected run."""
    histories = {}
    for run_id in run_ids:
        points = call_mlflow(
            f"read {key!r} of run {run_id}", client.get_metric_history, run_id, key
        )
        histories[run_id] = sorted((point.step, point.value) for point in points)
    return histories


def run_images(client: MlflowClient, run_id: str) -> tuple[RunImage, ...]:
    """Download the PNG images logged at the top of a run's artifacts or in known folders."""
    images = []
    for folder in IMAGE_FOLDERS:
        try:
            entries = call_mlflow(
                f"list artifacts of run {run_id}", client.list_artifacts, run_id, folder or None
            )
        except MlflowException as error:
            logger.warning("Cannot list artifacts %r of run %s: %s", folder, run_id, error)
            continue
        for entry in entries:
            if entry.is_dir or not entry.path.lower().endswith(".png"):
                continue
            with tempfile.TemporaryDirectory() as folder_path:
                local = call_mlflow(
                    f"download {entry.path!r} of run {run_id}",
                    client.download_artifacts,
                    run_id,
                    entry.path,
                    folder_path,
                )
                images.append(RunImage(run_id, entry.path, Path(local).read_bytes()))
    return tuple(images)


def list_versions(client: MlflowClient, model_name: str) -> tuple[registry.VersionInfo, ...]:
    """Every version of the model, newest first, with aliases from the registered model."""
    state = registry.get_state(client, model_name)
    versions, token = [], None
    while True:
        page = call_mlflow(
            "list model versions",
            client.search_model_versions,
            f"name = {_quote(model_name)}",
            max_results=1000,
            page_token=token,
        )
        versions.extend(registry.version_info(version, state.aliases) for version in page)
        token = page.token
        if not token:
            break
    return tuple(sorted(versions, key=lambda info: info.version, reverse=True))


def ui_base_url() -> str:
    """Address of the MLflow UI for links: MLFLOW_UI_URL, else the tracking URI."""
    settings = load_settings()
    return (settings["MLFLOW_UI_URL"] or settings.tracking_uri).rstrip("/")


def run_url(run: RunInfo) -> str:
    return f"{ui_base_url()}/#/experiments/{run.experiment_id}/runs/{run.run_id}"


def version_url(model_name: str, version: int) -> str:
    return f"{ui_base_url()}/#/models/{model_name}/versions/{version}"


# Streamlit caches -----------------------------------------------------------------------------

_TTL = load_settings()["DASHBOARD_CACHE_TTL"]


@st.cache_resource(show_spinner=False)
def get_client(tracking_uri: str) -> MlflowClient:
    """Create one client per tracking URI, shared by every session of the app."""
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def current_client() -> MlflowClient:
    return get_client(load_settings().tracking_uri)


@st.cache_data(ttl=_TTL, show_spinner=False)
def cached_server_status(tracking_uri: str, model_name: str, alias: str) -> ServerStatus:
    return server_status(get_client(tracking_uri), model_name, alias)


@st.cache_data(ttl=_TTL, show_spinner=False)
def cached_registry_state(tracking_uri: str, model_name: str) -> registry.RegistryState:
    return registry.get_state(get_client(tracking_uri), model_name)


@st.cache_data(ttl=_TTL, show_spinner=False)
def cached_versions(tracking_uri: str, model_name: str) -> tuple[registry.VersionInfo, ...]:
    return list_versions(get_client(tracking_uri), model_name)


@st.cache_data(ttl=_TTL, show_spinner=False)
def cached_experiments(tracking_uri: str) -> tuple[ExperimentInfo, ...]:
    return list_experiments(get_client(tracking_uri))


@st.cache_data(ttl=_TTL, show_spinner=False)
def cached_experiment(tracking_uri: str, name: str) -> ExperimentInfo | None:
    return find_experiment(get_client(tracking_uri), name)


@st.cache_data(ttl=_TTL, show_spinner=False)
def cached_runs_page(
    tracking_uri: str,
    experiment_id: str,
    filter_string: str,
    max_results: int,
    page_token: str | None,
) -> RunsPage:
    client = get_client(tracking_uri)
    return search_runs_page(client, experiment_id, filter_string, max_results, page_token)


@st.cache_data(ttl=_TTL, show_spinner=False)
def cached_run_count(tracking_uri: str, experiment_id: str) -> int:
    return count_runs(get_client(tracking_uri), experiment_id)


@st.cache_data(ttl=_TTL, show_spinner=False)
def cached_metric_histories(
    tracking_uri: str, run_ids: tuple[str, ...], key: str
) -> dict[str, list[tuple[int, float]]]:
    return metric_histories(get_client(tracking_uri), run_ids, key)


@st.cache_data(ttl=3600, show_spinner=False, max_entries=200)
def cached_run_images(tracking_uri: str, run_id: str) -> tuple[RunImage, ...]:
    # Logged artifacts never change, so images are kept for an hour.
    return run_images(get_client(tracking_uri), run_id)


def clear_registry_caches() -> None:
    """Forget cached registry reads after a promotion or rollback."""
    cached_server_status.clear()
    cached_registry_state.clear()
    cached_versions.clear()
