"""Command line: `python -m mlflow_server [--host H] [--port N] [--state-dir DIR]`.

Starts a local MLflow tracking server and registry, by default with a SQLite store and an
artifact folder under `.state/mlflow`, on http://127.0.0.1:5000. It prints the URL once `/health`
responds, writes the server's output to the terminal and to `mlflow-server.log` in the state
folder, and stops the whole server on Ctrl-C or SIGTERM. `--background` starts it detached and
records its PID; `--stop` stops that one.
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import threading
from pathlib import Path

from mlflow_server import launcher
from mlflow_server.launcher import LauncherError, ServerConfig
from training.settings import Settings, SettingsError, export_secrets_to_environment, load_settings

logger = logging.getLogger("mlflow_server")

DEFAULT_TIMEOUT = 180.0


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived while the server was running in the foreground."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlflow_server",
        description="Run the MLflow tracking server and model registry on this machine. "
        "BACKEND_STORE_URI, MLFLOW_DEFAULT_ARTIFACT_ROOT, S3_BUCKET, ALLOWED_HOSTS and the "
        "MLFLOW_AUTH_* variables are honoured as in the Docker image.",
    )
    parser.add_argument("--host", help="address to listen on (default: HOST, else 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port (default: PORT, else 5000)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="folder of the SQLite store, the artifacts, the log and the pid file "
        "(default: MLFLOW_SERVER_STATE_DIR, else .state/mlflow)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds to wait for /health before giving up (default: {DEFAULT_TIMEOUT:.0f})",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--background",
        action="store_true",
        help="start detached, wait for /health, print the URL and PID, then exit",
    )
    mode.add_argument(
        "--stop", action="store_true", help="stop the server started with --background"
    )
    return parser


def resolve_config(args: argparse.Namespace, settings: Settings) -> ServerConfig:
    port = args.port if args.port is not None else settings["PORT"]
    if not 1 <= port <= 65535:
        raise LauncherError(f"Port {port!r} is invalid: use an integer from 1 to 65535.")
    state_dir = args.state_dir or Path(settings["MLFLOW_SERVER_STATE_DIR"])
    return ServerConfig(
        host=args.host or settings["HOST"],
        port=port,
        state_dir=state_dir.expanduser().resolve(),
    )


def configure_logging(config: ServerConfig) -> None:
    config.state_dir.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in (logging.StreamHandler(sys.stderr), logging.FileHandler(config.log_path)):
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signal.Signals(signum).name)


def run_foreground(config: ServerConfig, settings: Settings, timeout: float) -> int:
    """Run the server until it exits or SIGINT or SIGTERM arrives, and return the exit code."""
    launcher.check_port_free(config.host, config.port)
    environment = launcher.server_environment(config, settings)
    signal.signal(signal.SIGTERM, raise_interrupted)
    signal.signal(signal.SIGINT, raise_interrupted)
    logger.info("Starting the MLflow server with its state in %s.", config.state_dir)
    with config.log_path.open("ab") as log_file:
        process = launcher.start_entrypoint(config, environment, subprocess.PIPE)
        tee = threading.Thread(
            target=launcher.tee_output, args=(process.stdout, log_file), daemon=True
        )
        tee.start()
        try:
            launcher.wait_until_healthy(config, process, timeout)
            print(f"MLflow server ready at {config.url} (Ctrl-C stops it)", flush=True)
            status = process.wait()
        except Interrupted as interruption:
            logger.info("Received %s; stopping the server.", interruption)
            launcher.stop_process_group(process.pid)
            process.wait()
            tee.join(timeout=5)
            logger.info("The MLflow server stopped.")
            return 0
        except LauncherError:
            launcher.stop_process_group(process.pid)
            raise
        tee.join(timeout=5)
    logger.error("The MLflow server exited with status %d; read %s.", status, config.log_path)
    return 1


def run_background(config: ServerConfig, settings: Settings, timeout: float) -> int:
    """Start the server detached, wait until it is healthy and record its PID."""
    record = launcher.read_pid_file(config)
    if record is not None and launcher.is_our_entrypoint(record["pid"]):
        raise LauncherError(
            f"An MLflow server started with --background already runs at {record.get('url')} "
            f"(PID {record['pid']}). Stop it with `python -m mlflow_server --stop` first."
        )
    launcher.check_port_free(config.host, config.port)
    environment = launcher.server_environment(config, settings)
    logger.info("Starting the MLflow server in the background; log: %s.", config.log_path)
    with config.log_path.open("ab") as log_file:
        process = launcher.start_entrypoint(config, environment, log_file)
    try:
        launcher.wait_until_healthy(config, process, timeout)
    except LauncherError:
        launcher.stop_process_group(process.pid)
        raise
    launcher.write_pid_file(config, process.pid)
    print(f"MLflow server ready at {config.url} (PID {process.pid}; log {config.log_path})")
    print(f"Stop it with: python -m mlflow_server --stop --state-dir {config.state_dir}")
    return 0


def stop_background(config: ServerConfig) -> int:
    """Stop the server recorded in the pid file. A missing server is not an error."""
    record = launcher.read_pid_file(config)
    if record is None:
        print(f"No background MLflow server is recorded in {config.pid_path}; nothing to stop.")
        return 0
    pid = record["pid"]
    if not launcher.is_our_entrypoint(pid):
        config.pid_path.unlink(missing_ok=True)
        print(f"The MLflow server with PID {pid} is no longer running; removed its pid file.")
        return 0
    launcher.stop_process_group(pid)
    config.pid_path.unlink(missing_ok=True)
    logger.info("Stopped the MLflow server with PID %d.", pid)
    print(f"Stopped the MLflow server at {record.get('url')} (PID {pid}).")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        export_secrets_to_environment()
        settings = load_settings()
        config = resolve_config(args, settings)
        configure_logging(config)
        if args.stop:
            return stop_background(config)
        if args.background:
            return run_background(config, settings, args.timeout)
        return run_foreground(config, settings, args.timeout)
    except (LauncherError, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
