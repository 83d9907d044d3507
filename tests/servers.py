"""Start real servers on loopback for tests: MLflow, moto's S3, a static HTTP file server.

Every server listens on 127.0.0.1 and a free port, logs to a file in the test's temporary folder,
and is stopped (process group killed) when its context manager exits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

LOOPBACK = "127.0.0.1"

# Environment for every child process: no telemetry, no cloud metadata look-ups.
QUIET_ENVIRONMENT = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "AWS_EC2_METADATA_DISABLED": "true",
    "PYTHONUNBUFFERED": "1",
}


def free_port() -> int:
    """Return a TCP port that is free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen | None, log: Path, timeout: float) -> None:
    """Poll `url` until it responds with a status below 500, or fail with the server's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode}:\n{log.read_text()[-4000:]}"
            )
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not respond within {timeout} s:\n{log.read_text()[-4000:]}")


@dataclass
class RunningServer:
    """A child server process and its base URL."""

    url: str
    port: int
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """Terminate a process group started with `start_new_session=True`, then kill it if needed."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


def start_process(
    command: list[str],
    log: Path,
    environment: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen:
    """Start `command` in its own process group with output appended to `log`."""
    env = {**os.environ, **QUIET_ENVIRONMENT, **(environment or {})}
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as log_file:
        return subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )


@contextlib.contextmanager
def mlflow_server(
    state_dir: Path,
    backend_store_uri: str | None = None,
    artifacts_destination: str | None = None,
    environment: Mapping[str, str] | None = None,
    timeout: float = 90,
) -> Iterator[RunningServer]:
    """Run `mlflow server` on loopback with a SQLite store and local artifacts by default."""
    state_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    backend = backend_store_uri or f"sqlite:///{state_dir / 'mlflow.db'}"
    artifacts = artifacts_destination or str(state_dir / "artifacts")
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--host", LOOPBACK, "--port", str(port),
        "--backend-store-uri", backend,
        "--artifacts-destination", artifacts,
        "--workers", "1",
    ]  # fmt: skip
    log = state_dir / "mlflow-server.log"
    process = start_process(command, log, environment)
    server = RunningServer(f"http://{LOOPBACK}:{port}", port, process, log)
    try:
        wait_for_http(f"{server.url}/health", process, log, timeout)
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def moto_s3_server(state_dir: Path, timeout: float = 30) -> Iterator[RunningServer]:
    """Run `moto_server` on loopback as an S3 endpoint."""
    port = free_port()
    moto = Path(sys.executable).with_name("moto_server")
    command = [str(moto) if moto.exists() else "moto_server", "-H", LOOPBACK, "-p", str(port)]
    log = state_dir / "moto.log"
    process = start_process(command, log)
    server = RunningServer(f"http://{LOOPBACK}:{port}", port, process, log)
    try:
        wait_for_http(f"{server.url}/moto-api/", process, log, timeout)
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def static_http_server(root: Path, state_dir: Path, timeout: float = 15) -> Iterator[RunningServer]:
    """Serve the folder `root` over plain HTTP with Python's directory listings."""
    port = free_port()
    command = [
        sys.executable, "-m", "http.server", str(port), "--bind", LOOPBACK, "--directory", str(root)
    ]  # fmt: skip
    log = state_dir / "http-server.log"
    process = start_process(command, log)
    server = RunningServer(f"http://{LOOPBACK}:{port}/", port, process, log)
    try:
        wait_for_http(server.url, process, log, timeout)
        yield server
    finally:
        server.stop()
