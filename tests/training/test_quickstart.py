"""The `make run` quick start, end to end on the real data with a short training period.

It starts its own MLflow server in the background, trains and promotes two models, serves the
dashboard until interrupted, stops the server it started, and reuses the models on a second run.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from mlflow import MlflowClient

from tests import servers
from tests.conftest import REPO_ROOT

SHORT_PERIOD = ["--train-years", "2006-2008", "--val-years", "2009-2009", "--test-years", "2010"]


def start_quickstart(
    tmp_path: Path, data_dir: Path, server_port: int, dashboard_port: int, log_name: str
):
    command = [
        sys.executable, "-m", "training.quickstart",
        "--server-port", str(server_port), "--dashboard-port", str(dashboard_port),
        *SHORT_PERIOD,
    ]  # fmt: skip
    environment = {
        "FIRE_DATA_URI": str(data_dir),
        "MLFLOW_SERVER_STATE_DIR": str(tmp_path / "state"),
    }
    log = tmp_path / log_name
    process = servers.start_process(command, log, environment, cwd=REPO_ROOT)
    return process, log


def wait_for_dashboard(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"quick start exited with {process.returncode}:\n{log.read_text()[-6000:]}")
        try:
            if requests.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    pytest.fail(f"dashboard did not respond within {timeout} s:\n{log.read_text()[-6000:]}")


def interrupt(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=60)
    finally:
        servers.stop_process(process)


def port_is_free(port: int) -> bool:
    try:
        requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
    except requests.ConnectionError:
        return True
    return False


@pytest.mark.slow
def test_quickstart_trains_promotes_and_reuses(tmp_path, shared_data_dir):
    server_port = servers.free_port()
    dashboard_port = servers.free_port()
    dashboard_url = f"http://127.0.0.1:{dashboard_port}"

    process, log = start_quickstart(tmp_path, shared_data_dir, server_port, dashboard_port, "1.log")
    wait_for_dashboard(dashboard_url, process, log, timeout=600)
    client = MlflowClient(tracking_uri=f"http://127.0.0.1:{server_port}")
    model = client.get_registered_model("corsica-fire-risk")
    versions = client.search_model_versions("name = 'corsica-fire-risk'")
    assert len(versions) == 2
    assert "production" in model.aliases
    assert interrupt(process) == 0
    assert port_is_free(server_port), "the quick start left its MLflow server running"
    first_output = log.read_text()
    assert "[1/5]" in first_output
    assert "Trained and promoted" in first_output

    process, log = start_quickstart(tmp_path, shared_data_dir, server_port, dashboard_port, "2.log")
    wait_for_dashboard(dashboard_url, process, log, timeout=180)
    assert interrupt(process) == 0
    second_output = log.read_text()
    assert "already in production" in second_output
    assert "Trained and promoted" not in second_output
    assert port_is_free(server_port)


def test_quickstart_reports_incomplete_data_folder(tmp_path):
    empty = tmp_path / "empty-data"
    empty.mkdir()
    server_port = servers.free_port()
    result = subprocess.run(
        [sys.executable, "-m", "training.quickstart", "--server-port", str(server_port)],
        cwd=REPO_ROOT,
        env={
            **servers.QUIET_ENVIRONMENT,
            "PATH": "/usr/bin:/bin",
            "FIRE_DATA_URI": str(empty),
            "MLFLOW_SERVER_STATE_DIR": str(tmp_path / "state"),
            "FIRE_SECRETS_FILE": str(tmp_path / "no-secrets"),
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 1
    assert f"FIRE_DATA_URI='{empty}'" in result.stderr
    assert "communes/communes-corse.geojson" in result.stderr
    assert port_is_free(server_port), "the quick start left its MLflow server running"
