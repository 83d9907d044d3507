"""Time each dashboard page's MLflow reads and count its HTTP requests, at 100 and 1,000 runs.

Starts a loopback `mlflow server` (SQLite, local artifacts) in a temporary folder and seeds
runs with params and metrics and 50 registered versions. For each page it then prints the time
to load its data without cache (cold, one call) and through the Streamlit caches (warm, median
of 10), and the number of HTTP requests sent to MLflow. The risk map's model loading and prediction
are measured by benchmarks/predict.py and are not repeated here.

    .venv/bin/python benchmarks/dashboard.py [--runs 1000] [--versions 50]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for name, value in {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "AWS_EC2_METADATA_DISABLED": "true",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}.items():
    os.environ[name] = value

import requests  # noqa: E402
from mlflow.entities import Metric, Param  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

from tests.servers import mlflow_server  # noqa: E402

EXPERIMENT = "benchmark-runs"
MODEL = "benchmark-model"
FAMILIES = ("climatology", "logistic_regression", "random_forest", "hist_gradient_boosting")
WARM_REPEATS = 10


class RequestCounter:
    """Count requests sent through `requests.Session.request` (MLflow's REST client uses it)."""

    def __init__(self) -> None:
        self.count = 0
        self._original = requests.Session.request

    def install(self) -> None:
        counter = self

        def counting(session, method, url, *args, **kwargs):
            counter.count += 1
            return counter._original(session, method, url, *args, **kwargs)

        requests.Session.request = counting


def seed_runs(client: MlflowClient, experiment_id: str, first: int, count: int) -> list[str]:
    """Create `count` finished runs with the params and metrics of a training run."""
    run_ids = []
    now = int(time.time() * 1000)
    for index in range(first, first + count):
        run = client.create_run(experiment_id, run_name=f"run-{index:04d}")
        params = [
            Param("model_family", FAMILIES[index % len(FAMILIES)]),
            Param("horizon_days", "7"),
            Param("test_years", "2014-2016"),
            Param("C", str(0.1 * (1 + index % 10))),
        ]
        metrics = [
            Metric(f"{split}_{name}", (index % 97) / 100, now, step)
            for split in ("val", "test")
            for name in ("roc_auc", "average_precision", "brier_score", "log_loss")
            for step in (0,)
        ]
        metrics += [Metric("train_loss", 1 / (step + 1), now, step) for step in range(5)]
        client.log_batch(run.info.run_id, metrics=metrics, params=params)
        client.set_terminated(run.info.run_id)
        run_ids.append(run.info.run_id)
    return run_ids


def seed_versions(client: MlflowClient, run_id: str, count: int) -> None:
    """Register `count` versions of one small logged sklearn model, with training-like tags."""
    import mlflow
    from sklearn.linear_model import LogisticRegression

    with mlflow.start_run(run_id=run_id):
        model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
        info = mlflow.sklearn.log_model(model, name="model")
    client.create_registered_model(MODEL)
    for index in range(count):
        tags = {
            "model_family": FAMILIES[index % len(FAMILIES)],
            "horizon_days": "7",
            "test_years": "2014-2016",
            "test_average_precision": f"{0.1 + index / 1000:.4f}",
        }
        client.create_model_version(
            MODEL, info.model_uri, run_id=run_id, tags=tags, model_id=info.model_id
        )


def page_loaders(uri: str, experiment_id: str, selected: tuple[str, ...]) -> dict:
    """For each page, a cold loader (plain gateway functions) and a warm one (cached wrappers)."""
    from dashboard import gateway
    from training import registry

    client = MlflowClient(uri, uri)

    def home_cold():
        gateway.server_status(client, MODEL, "production")
        registry.get_state(client, MODEL)
        gateway.list_versions(client, MODEL)
        gateway.find_experiment(client, EXPERIMENT)
        gateway.count_runs(client, experiment_id)
        gateway.search_runs_page(client, experiment_id, "", 10)

    def home_warm():
        gateway.cached_server_status(uri, MODEL, "production")
        gateway.cached_registry_state(uri, MODEL)
        gateway.cached_versions(uri, MODEL)
        gateway.cached_experiment(uri, EXPERIMENT)
        gateway.cached_run_count(uri, experiment_id)
        gateway.cached_runs_page(uri, experiment_id, "", 10, None)

    def compare_cold():
        gateway.server_status(client, MODEL, "production")
        gateway.list_experiments(client)
        gateway.search_runs_page(client, experiment_id, "", 100)
        gateway.metric_histories(client, selected, "train_loss")

    def compare_warm():
        gateway.cached_server_status(uri, MODEL, "production")
        gateway.cached_experiments(uri)
        gateway.cached_runs_page(uri, experiment_id, "", 100, None)
        gateway.cached_metric_histories(uri, selected, "train_loss")

    def registry_cold():
        gateway.server_status(client, MODEL, "production")
        registry.get_state(client, MODEL)
        gateway.list_versions(client, MODEL)

    def registry_warm():
        gateway.cached_server_status(uri, MODEL, "production")
        gateway.cached_registry_state(uri, MODEL)
        gateway.cached_versions(uri, MODEL)

    return {
        "Home": (home_cold, home_warm),
        "Compare runs (100 per page, 3 selected)": (compare_cold, compare_warm),
        "Model registry": (registry_cold, registry_warm),
    }


def measure(function: Callable[[], None], counter: RequestCounter) -> tuple[float, int]:
    before = counter.count
    start = time.perf_counter()
    function()
    return time.perf_counter() - start, counter.count - before


def report(uri: str, experiment_id: str, selected: tuple[str, ...], runs: int, counter) -> None:
    import streamlit as st

    st.cache_data.clear()
    print(f"\n{runs} runs, pages' MLflow data:")
    print(f"{'page':42} {'cold s':>8} {'cold req':>9} {'warm median s':>14} {'warm req':>9}")
    for page, (cold, warm) in page_loaders(uri, experiment_id, selected).items():
        cold_seconds, cold_requests = measure(cold, counter)
        measure(warm, counter)  # fills the caches
        warm_runs = [measure(warm, counter) for _ in range(WARM_REPEATS)]
        warm_seconds = statistics.median(seconds for seconds, _ in warm_runs)
        warm_requests = max(requests_made for _, requests_made in warm_runs)
        print(
            f"{page:42} {cold_seconds:8.3f} {cold_requests:9d} {warm_seconds:14.5f} "
            f"{warm_requests:9d}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs seeded in total")
    parser.add_argument("--versions", type=int, default=50, help="registered versions seeded")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    counter = RequestCounter()
    counter.install()
    with tempfile.TemporaryDirectory() as folder, mlflow_server(Path(folder)) as server:
        import mlflow

        mlflow.set_tracking_uri(server.url)
        os.environ["MLFLOW_TRACKING_URI"] = server.url
        client = MlflowClient(server.url, server.url)
        experiment_id = client.create_experiment(EXPERIMENT)
        start = time.perf_counter()
        first_batch = min(100, args.runs)
        run_ids = seed_runs(client, experiment_id, 0, first_batch)
        seed_versions(client, run_ids[0], args.versions)
        print(
            f"seeded {first_batch} runs and {args.versions} versions in "
            f"{time.perf_counter() - start:.0f} s on {server.url}"
        )
        selected = tuple(run_ids[:3])
        report(server.url, experiment_id, selected, first_batch, counter)
        if args.runs > first_batch:
            seed_runs(client, experiment_id, first_batch, args.runs - first_batch)
            report(server.url, experiment_id, selected, args.runs, counter)


if __name__ == "__main__":
    main()
