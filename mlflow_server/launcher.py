"""Run the MLflow server on this machine through the image's entrypoint script.

The launcher only chooses local defaults: a SQLite store and an artifact folder under one state
folder, on 127.0.0.1:5000. It hands everything else to `entrypoint.sh`. The local server and the
Docker image therefore share the schema upgrade, the allowed hosts and basic authentication.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import requests

from training.settings import Settings

logger = logging.getLogger(__name__)

ENTRYPOINT = Path(__file__).resolve().with_name("entrypoint.sh")
LOG_NAME = "mlflow-server.log"
PID_NAME = "mlflow-server.pid"
# Variables forced on in every server started from here: no telemetry, no cloud metadata look-up.
QUIET_ENVIRONMENT = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "AWS_EC2_METADATA_DISABLED": "true",
    "PYTHONUNBUFFERED": "1",
}


class LauncherError(RuntimeError):
    """The server could not be started or stopped. The message names the fix."""


@dataclass(frozen=True)
class ServerConfig:
    """Listening address and state folder of the local server."""

    host: str
    port: int
    state_dir: Path

    @property
    def url(self) -> str:
        """The address that clients on this machine use."""
        return f"http://{connect_host(self.host)}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.state_dir / LOG_NAME

    @property
    def pid_path(self) -> Path:
        return self.state_dir / PID_NAME


def connect_host(host: str) -> str:
    """Return the loopback address to reach a server bound to `host` from this machine."""
    if host in {"", "0.0.0.0"}:
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def server_environment(config: ServerConfig, settings: Settings) -> dict[str, str]:
    """Build the entrypoint's environment: the caller's, plus the local defaults.

    An empty `BACKEND_STORE_URI` becomes SQLite in the state folder, and empty
    `MLFLOW_DEFAULT_ARTIFACT_ROOT` and `S3_BUCKET` become its `artifacts` folder.
    """
    environment = {**os.environ, **QUIET_ENVIRONMENT}
    environment["HOST"] = config.host
    environment["PORT"] = str(config.port)
    environment["MLFLOW_SERVER_STATE_DIR"] = str(config.state_dir)
    environment["BACKEND_STORE_URI"] = settings["BACKEND_STORE_URI"] or (
        f"sqlite:///{config.state_dir / 'mlflow.db'}"
    )
    if not settings["MLFLOW_DEFAULT_ARTIFACT_ROOT"] and not settings["S3_BUCKET"]:
        environment["MLFLOW_DEFAULT_ARTIFACT_ROOT"] = str(config.state_dir / "artifacts")
    # The image lets Hugging Face frame the UI, but a laptop keeps MLflow's own default.
    environment.setdefault("MLFLOW_SERVER_X_FRAME_OPTIONS", "SAMEORIGIN")
    # The entrypoint runs `python`: make it this interpreter, with MLflow installed.
    interpreter_dir = str(Path(sys.executable).parent)
    environment["PATH"] = os.pathsep.join([interpreter_dir, environment.get("PATH", "")])
    return environment


def check_port_free(host: str, port: int) -> None:
    """Raise LauncherError when something already listens on `host`:`port`."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # Same option as uvicorn, so a port in TIME_WAIT counts as free, as it does for uvicorn.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise LauncherError(
                    f"Port {port} on {host} is already in use, maybe by an MLflow server started "
                    "earlier. Stop it (`python -m mlflow_server --stop` for one started with "
                    "--background) or choose another port with --port."
                ) from None
            raise LauncherError(f"Cannot listen on {host}:{port}: {error.strerror}.") from None


def start_entrypoint(
    config: ServerConfig, environment: Mapping[str, str], output: int | IO[bytes]
) -> subprocess.Popen:
    """Start `entrypoint.sh` in a new process group, so that one signal stops all its workers."""
    bash = shutil.which("bash")
    if bash is None:
        raise LauncherError("bash was not found on PATH; the server's entrypoint needs it.")
    config.state_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [bash, str(ENTRYPOINT)],
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        env=dict(environment),
        cwd=config.state_dir,
        start_new_session=True,
    )


def wait_until_healthy(config: ServerConfig, process: subprocess.Popen, timeout: float) -> None:
    """Poll `/health` until it returns 200; raise LauncherError if the server exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LauncherError(
                f"The server exited with status {process.returncode} before /health responded. "
                f"Read {config.log_path}."
            )
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{config.url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise LauncherError(
        f"Timed out after {timeout:.0f} s waiting for {config.url}/health. Read "
        f"{config.log_path}, or raise --timeout for a slow first schema creation."
    )


def stop_process_group(pid: int, timeout: float = 30) -> bool:
    """Send SIGTERM to the process group `pid`, then SIGKILL after `timeout` seconds.

    Returns False when the group no longer existed.
    """
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process_group_exists(pid):
            return True
        _reap(pid)
        time.sleep(0.2)
    logger.warning("The server group %d ignored SIGTERM for %.0f s; sending SIGKILL.", pid, timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return True


def process_group_exists(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap(pid: int) -> None:
    # A child of this process stays a zombie, and so keeps its group alive, until waited for.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def write_pid_file(config: ServerConfig, pid: int) -> None:
    record = {"pid": pid, "url": config.url, "started": time.time()}
    config.pid_path.write_text(json.dumps(record) + "\n", encoding="utf-8")


def read_pid_file(config: ServerConfig) -> dict | None:
    """Return the background server's record, or None when there is no usable pid file."""
    try:
        record = json.loads(config.pid_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise LauncherError(
            f"The pid file {config.pid_path} is unreadable ({error}); delete it and stop the "
            "server by hand if it still runs."
        ) from None
    if not isinstance(record, dict) or not isinstance(record.get("pid"), int):
        raise LauncherError(f"The pid file {config.pid_path} has no integer 'pid'; delete it.")
    return record


def is_our_entrypoint(pid: int) -> bool:
    """Tell whether `pid` still runs the entrypoint, and not a process that reused its id."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.exists():
        return process_group_exists(pid)  # no /proc (macOS): trust the pid file
    try:
        return str(ENTRYPOINT).encode() in cmdline.read_bytes()
    except OSError:
        return False


def tee_output(stream: IO[bytes], log_file: IO[bytes]) -> None:
    """Copy the server's output line by line to the terminal and to the log file."""
    for line in iter(stream.readline, b""):
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
        log_file.write(line)
        log_file.flush()
