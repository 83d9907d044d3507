"""Run `mlflow_server/entrypoint.sh` outside Docker, with its own PostgreSQL databases.

Each database gets a unique `fire_test_*` name and is dropped when its test or module ends.
PostgreSQL here uses trust authentication, so it accepts the passwords in the URIs below
whatever they are. That lets the tests look for them in `ps` output and in logs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import servers
from tests.conftest import REPO_ROOT, postgres_available, require

ENTRYPOINT = REPO_ROOT / "mlflow_server" / "entrypoint.sh"
POSTGRES = "127.0.0.1:5432"
# Variables that the entrypoint reads: none may leak in from the shell that runs pytest.
_ENTRYPOINT_PREFIXES = (
    "MLFLOW_",
    "AWS_",
    "FIRE_",
    "BACKEND_STORE_URI",
    "S3_BUCKET",
    "ALLOWED_HOSTS",
    "SPACE_HOST",
    "HOST",
    "PORT",
)


def postgres_uri(database: str, password: str = "unused-password") -> str:
    return f"postgresql://postgres:{password}@{POSTGRES}/{database}"


def run_sql(database: str, statement: str) -> str:
    """Run one SQL statement with psql as user postgres and return its unaligned output."""
    result = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-Atqc", statement],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"psql failed on {statement!r}: {result.stderr}"
    return result.stdout.strip()


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """Create a uniquely named database, yield its name, and drop it afterwards."""
    require(postgres_available(), "PostgreSQL does not answer on 127.0.0.1:5432 as postgres")
    name = f"fire_test_{uuid.uuid4().hex[:12]}"
    run_sql("postgres", f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        run_sql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    with postgres_database() as name:
        yield name


def entrypoint_environment(variables: Mapping[str, str], tmp_dir: Path) -> dict[str, str]:
    """Build the entrypoint's environment as the image would, with this venv's python on PATH."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_ENTRYPOINT_PREFIXES)
    }
    interpreter_dir = str(Path(sys.executable).parent)
    return {
        **inherited,
        **servers.QUIET_ENVIRONMENT,
        "PATH": os.pathsep.join([interpreter_dir, inherited.get("PATH", "")]),
        "TMPDIR": str(tmp_dir),
        "HOST": servers.LOOPBACK,
        "MLFLOW_SERVER_WORKERS": "1",
        **variables,
    }


def run_entrypoint(variables: Mapping[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Run the entrypoint to completion, for configurations that must stop it before serving."""
    tmp_dir = tmp_path / "entrypoint-tmp"
    tmp_dir.mkdir(exist_ok=True)
    return subprocess.run(
        ["bash", str(ENTRYPOINT)],
        env=entrypoint_environment({"PORT": str(servers.free_port()), **variables}, tmp_dir),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass
class EntrypointServer:
    """The entrypoint script running `mlflow server` on loopback, as the container would."""

    variables: dict[str, str]
    work_dir: Path
    port: int = field(default_factory=servers.free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{servers.LOOPBACK}:{self.port}"

    @property
    def cwd(self) -> Path:
        return self.work_dir / "cwd"

    @property
    def tmp_dir(self) -> Path:
        return self.work_dir / "tmp"

    @property
    def log(self) -> Path:
        return self.work_dir / "entrypoint.log"

    def start(self, timeout: float = 120) -> None:
        self.cwd.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        environment = entrypoint_environment(
            {**self.variables, "PORT": str(self.port)}, self.tmp_dir
        )
        with self.log.open("ab") as log_file:
            self.process = subprocess.Popen(
                ["bash", str(ENTRYPOINT)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=environment,
                cwd=self.cwd,
                start_new_session=True,
            )
        servers.wait_for_http(f"{self.url}/health", self.process, self.log, timeout)

    def stop(self) -> tuple[int, list[int]]:
        """Send SIGTERM to the entrypoint alone, as `docker stop` does.

        Returns the entrypoint's exit status and the PIDs of its group still alive after it
        exited, which are then killed.
        """
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                servers.stop_process(self.process)
        leftovers = self.server_pids()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.returncode, leftovers

    def restart(self, timeout: float = 120) -> None:
        self.stop()
        self.start(timeout)

    def server_pids(self) -> list[int]:
        """PIDs of the entrypoint's process group (bash, mlflow server, uvicorn, its workers)."""
        assert self.process is not None
        result = subprocess.run(
            ["ps", "-e", "-o", "pid=,pgid="], capture_output=True, text=True, check=True
        )
        pairs = (line.split() for line in result.stdout.splitlines() if line.strip())
        return [int(pid) for pid, pgid in pairs if int(pgid) == self.process.pid]
