"""The local launcher, `python -m mlflow_server`, run as a user would from the repository root."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pytest
import requests
from sklearn.linear_model import LogisticRegression

from mlflow_server import launcher
from tests import servers
from tests.conftest import REPO_ROOT
from tests.mlflow_server.conftest import entrypoint_environment
from training.settings import load_settings

READY_LINE = "MLflow server ready at"


@dataclass
class Launched:
    """A foreground `python -m mlflow_server` and the files it writes."""

    process: subprocess.Popen
    port: int
    state_dir: Path
    output: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def launcher_environment(tmp_dir: Path) -> dict[str, str]:
    return entrypoint_environment({"FIRE_SECRETS_FILE": str(tmp_dir / "no-secrets")}, tmp_dir)


def run_launcher(arguments: list[str], tmp_dir: Path, timeout: float = 180):
    return subprocess.run(
        [sys.executable, "-m", "mlflow_server", *arguments],
        env=launcher_environment(tmp_dir),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_for_output(launched: Launched, text: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in launched.output.read_text():
            return
        if launched.process.poll() is not None:
            break
        time.sleep(0.25)
    raise AssertionError(f"{text!r} not printed; output:\n{launched.output.read_text()[-3000:]}")


def child_pids(pid: int) -> list[int]:
    result = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True
    )
    return [int(line) for line in result.stdout.split()]


def group_pids(pgid: int) -> list[int]:
    result = subprocess.run(["ps", "-e", "-o", "pid=,pgid="], capture_output=True, text=True)
    pairs = (line.split() for line in result.stdout.splitlines() if line.strip())
    return [int(pid) for pid, group in pairs if int(group) == pgid]


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launched]:
    """A foreground launcher on a free port, with its state in a temporary folder."""
    tmp_dir = tmp_path_factory.mktemp("launcher")
    port = servers.free_port()
    state_dir = tmp_dir / "state"
    output = tmp_dir / "launcher-output.log"
    with output.open("wb") as output_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "mlflow_server", "--port", str(port), "--state-dir", state_dir],
            env=launcher_environment(tmp_dir),
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=output_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Launched(process, port, state_dir, output)
    try:
        wait_for_output(running, READY_LINE)
        yield running
    finally:
        servers.stop_process(process)


def test_launcher_prints_url_after_health(launched):
    assert f"{READY_LINE} {launched.url}" in launched.output.read_text()
    assert requests.get(f"{launched.url}/health", timeout=10).text == "OK"


def test_launcher_logs_to_state_dir(launched):
    log = (launched.state_dir / launcher.LOG_NAME).read_text()
    assert "Starting the MLflow server" in log
    assert "Uvicorn running" in log


def test_model_logged_through_launcher_loads(launched, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(launched.url)
    features = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = LogisticRegression().fit(features, [0, 0, 1, 1])
    try:
        mlflow.set_experiment("launcher")
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
        loaded = mlflow.pyfunc.load_model(info.model_uri)
    finally:
        mlflow.set_tracking_uri(None)
    assert list(loaded.predict(features)) == [0, 0, 1, 1]
    assert (launched.state_dir / "mlflow.db").is_file()
    assert any((launched.state_dir / "artifacts").rglob("MLmodel"))


def test_second_start_reports_port_taken(launched, tmp_path):
    result = run_launcher(["--port", str(launched.port), "--state-dir", str(tmp_path)], tmp_path)
    assert result.returncode == 2
    assert f"Port {launched.port} on 127.0.0.1 is already in use" in result.stderr


def test_sigint_stops_server(launched):
    entrypoints = child_pids(launched.process.pid)
    assert len(entrypoints) == 1
    assert group_pids(entrypoints[0]) != []

    os.kill(launched.process.pid, signal.SIGINT)

    assert launched.process.wait(timeout=60) == 0
    assert group_pids(entrypoints[0]) == []
    assert "Received SIGINT" in launched.output.read_text()
    launcher.check_port_free("127.0.0.1", launched.port)


def test_background_start_and_stop(tmp_path):
    port = servers.free_port()
    state = ["--state-dir", str(tmp_path / "state")]

    started = run_launcher(["--background", "--port", str(port), *state], tmp_path)
    assert started.returncode == 0, started.stderr
    assert f"{READY_LINE} http://127.0.0.1:{port}" in started.stdout
    pid_file = tmp_path / "state" / launcher.PID_NAME
    assert pid_file.is_file()
    assert requests.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200

    again = run_launcher(["--background", "--port", str(port), *state], tmp_path)
    assert again.returncode == 2
    assert "already runs" in again.stderr

    stopped = run_launcher(["--stop", *state], tmp_path)
    assert stopped.returncode == 0, stopped.stderr
    assert "Stopped the MLflow server" in stopped.stdout
    assert not pid_file.exists()
    launcher.check_port_free("127.0.0.1", port)


def test_stop_without_background_server(tmp_path):
    result = run_launcher(["--stop", "--state-dir", str(tmp_path)], tmp_path)
    assert result.returncode == 0
    assert "nothing to stop" in result.stdout


def test_check_port_free_rejects_bound_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(launcher.LauncherError, match=f"Port {port} on 127.0.0.1 is already"):
            launcher.check_port_free("127.0.0.1", port)


@pytest.mark.parametrize(
    ("host", "expected"),
    [("0.0.0.0", "127.0.0.1"), ("::", "[::1]"), ("127.0.0.1", "127.0.0.1"), ("::1", "[::1]")],
)
def test_connect_host(host, expected):
    assert launcher.connect_host(host) == expected


def test_environment_defaults_to_state_dir(tmp_path):
    config = launcher.ServerConfig("127.0.0.1", 5000, tmp_path)
    environment = launcher.server_environment(config, load_settings())
    assert environment["BACKEND_STORE_URI"] == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert environment["MLFLOW_DEFAULT_ARTIFACT_ROOT"] == str(tmp_path / "artifacts")
    assert environment["PORT"] == "5000"
    assert environment["MLFLOW_DISABLE_TELEMETRY"] == "true"


def test_environment_keeps_s3_bucket(tmp_path, monkeypatch):
    monkeypatch.setenv("S3_BUCKET", "team-bucket")
    monkeypatch.setenv("BACKEND_STORE_URI", "postgresql://team@db.example/mlflow")
    config = launcher.ServerConfig("127.0.0.1", 5000, tmp_path)
    environment = launcher.server_environment(config, load_settings())
    assert environment["BACKEND_STORE_URI"] == "postgresql://team@db.example/mlflow"
    assert "MLFLOW_DEFAULT_ARTIFACT_ROOT" not in environment
    assert environment["S3_BUCKET"] == "team-bucket"
