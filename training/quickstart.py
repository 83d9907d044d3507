"""`make run`: from nothing to the dashboard showing a production model on real data.

Steps, each announced on the terminal:
1. start the local MLflow server in the background (or reuse one that responds);
2. find the data: `FIRE_DATA_URI` when set, else `data/`, downloading the public sources there,
   and stop with instructions when the BDIFF export is missing (it has no download URL);
3. check the data;
4. when the registry has no version yet, train the climatology baseline and the gradient-boosting
   model, register both, and promote the better one through the guarded promotion;
5. run the dashboard until Ctrl-C, then stop the server this command started.

A second run reuses the server's state folder, so it finds the versions the first one trained.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from training.settings import (
    apply_mlflow_client_defaults,
    export_secrets_to_environment,
    load_settings,
)

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ("climatology", "hist_gradient_boosting")
SPLITS = ("train", "val", "test")
QUIET_ENVIRONMENT = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "AWS_EC2_METADATA_DISABLED": "true",
}


class QuickstartError(RuntimeError):
    """A step of the quick start failed; the message explains what to do."""


def announce(step: int, total: int, text: str) -> None:
    print(f"\n[{step}/{total}] {text}", flush=True)


def run_step(command: list[str], failure: str) -> None:
    """Run a child command with its output on the terminal; raise with `failure` if it fails."""
    result = subprocess.run(command, cwd=REPO_ROOT, check=False)
    if result.returncode != 0:
        raise QuickstartError(f"{failure} (command: {' '.join(command)}, exit {result.returncode})")


def server_answers(tracking_uri: str) -> bool:
    try:
        return requests.get(f"{tracking_uri.rstrip('/')}/health", timeout=3).status_code == 200
    except requests.RequestException:
        return False


def start_server(tracking_uri: str, port: int) -> bool:
    """Start the embedded server in the background unless one responds; return True if started."""
    if server_answers(tracking_uri):
        print(f"Using the MLflow server already answering at {tracking_uri}")
        return False
    if not tracking_uri.startswith(("http://127.0.0.1", "http://localhost")):
        raise QuickstartError(
            f"MLFLOW_TRACKING_URI={tracking_uri!r} does not respond on /health. Check the URL and "
            "that the server runs, or unset MLFLOW_TRACKING_URI to use the local server."
        )
    run_step(
        [sys.executable, "-m", "mlflow_server", "--background", "--port", str(port)],
        "The local MLflow server did not start; read its log under .state/mlflow/",
    )
    return True


def stop_server() -> None:
    subprocess.run([sys.executable, "-m", "mlflow_server", "--stop"], cwd=REPO_ROOT, check=False)


def data_folder_ready(data_uri: str) -> bool:
    """Tell whether a local data folder has commune outlines, a BDIFF file and weather."""
    if data_uri.startswith(("http://", "https://", "s3://")):
        return True
    folder = Path(data_uri)
    has_communes = (folder / "communes" / "communes-corse.geojson").is_file()
    has_fires = any((folder / "fires").glob("*.csv*")) if (folder / "fires").is_dir() else False
    return has_communes and has_fires


def ensure_data(data_uri: str, uri_from_user: bool) -> None:
    """Download the public sources into a default local folder, or explain what is missing."""
    if data_folder_ready(data_uri):
        print(f"Data: {data_uri}")
        return
    if uri_from_user:
        raise QuickstartError(
            f"FIRE_DATA_URI={data_uri!r} has no communes/communes-corse.geojson or no fires/*.csv. "
            "Point it at a folder laid out as described in the README's Data section."
        )
    print(f"Downloading the public sources into {data_uri} (this can take a few minutes)")
    result = subprocess.run(
        [sys.executable, "-m", "training", "data", "fetch"], cwd=REPO_ROOT, check=False
    )
    if result.returncode != 0 or not data_folder_ready(data_uri):
        raise QuickstartError(
            "The data is not complete. BDIFF fire exports have no download URL: export the "
            "Corsican fires (departments 2A and 2B, all years) as CSV from "
            f"https://bdiff.agriculture.gouv.fr/incendies and save the file in {data_uri}fires/. "
            "Offline, or with the data already in a folder, set FIRE_DATA_URI to that folder "
            "(for example FIRE_DATA_URI=../shared/data make run)."
        )


def registered_versions(tracking_uri: str, model_name: str) -> list:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    return client.search_model_versions(f"name = '{model_name}'")


def train_and_promote(tracking_uri: str, model_name: str, train_options: list[str]) -> None:
    """Train both families, register them, and promote the one with the better test AP."""
    for family in FAMILIES:
        print(f"Training {family} (progress below)", flush=True)
        run_step(
            [sys.executable, "-m", "training", "train", "--model", family, "--register"]
            + train_options,
            f"Training {family} failed; the run is marked FAILED in MLflow",
        )
    promote_best(tracking_uri, model_name)


def promote_best(tracking_uri: str, model_name: str) -> None:
    """Promote the registered version with the highest test average precision."""
    versions = registered_versions(tracking_uri, model_name)
    best = max(versions, key=lambda version: float(version.tags.get("test_average_precision", "0")))
    print(
        f"Promoting version {best.version} ({best.tags.get('model_family')}, test AP "
        f"{best.tags.get('test_average_precision')}) to production"
    )
    run_step(
        [
            sys.executable,
            "-m",
            "training",
            "registry",
            "promote",
            str(best.version),
            "--reason",
            "make run: best test average precision of the first two models",
        ],  # fmt: skip
        "The promotion was refused",
    )


def run_dashboard(port: int) -> int:
    command = [
        sys.executable, "-m", "streamlit", "run", "dashboard/Home.py",
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    print(f"\nDashboard: http://127.0.0.1:{port}  (Ctrl-C stops it)", flush=True)
    process = subprocess.Popen(command, cwd=REPO_ROOT)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        return 0


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-port", type=int, default=5000, help="local MLflow server port")
    parser.add_argument("--dashboard-port", type=int, default=8501, help="Streamlit port")
    parser.add_argument(
        "--keep-server", action="store_true", help="leave the MLflow server running on exit"
    )
    for split in SPLITS:
        parser.add_argument(
            f"--{split}-years",
            metavar="FIRST-LAST",
            help=f"{split} years of the first two models (default: the training default)",
        )
    return parser.parse_args(argv)


def training_options(args: argparse.Namespace) -> list[str]:
    """Turn the year options given to the quick start into `train` options."""
    options = []
    for split in SPLITS:
        years = getattr(args, f"{split}_years")
        if years:
            options += [f"--{split}-years", years]
    return options


def ensure_production_model(settings, train_options: list[str]) -> None:
    """Train and promote when the registry is empty, or promote when nothing is in production."""
    from mlflow import MlflowClient

    if not registered_versions(settings.tracking_uri, settings.model_name):
        started_at = time.monotonic()
        train_and_promote(settings.tracking_uri, settings.model_name, train_options)
        print(f"Trained and promoted in {time.monotonic() - started_at:.0f} s")
        return
    model = MlflowClient(tracking_uri=settings.tracking_uri).get_registered_model(
        settings.model_name
    )
    production = model.aliases.get(settings.production_alias)
    if production is None:
        print(f"{settings.model_name} has versions but none in production")
        promote_best(settings.tracking_uri, settings.model_name)
    else:
        print(f"Using {settings.model_name} version {production}, already in production")


def run_steps(args: argparse.Namespace, settings, uri_from_user: bool) -> int:
    """Run the five steps; return the dashboard's exit status."""
    total = 5
    announce(1, total, "MLflow tracking server")
    args.server_started = start_server(settings.tracking_uri, args.server_port)
    announce(2, total, "Data")
    ensure_data(settings.data_uri, uri_from_user)
    announce(3, total, "Checking the data")
    run_step(
        [sys.executable, "-m", "training", "data", "check"],
        "The data check found the data unusable; fix what the report names",
    )
    announce(4, total, "Production model")
    ensure_production_model(settings, training_options(args))
    announce(5, total, "Dashboard")
    return run_dashboard(args.dashboard_port)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    os.environ.update({**QUIET_ENVIRONMENT, **os.environ})
    export_secrets_to_environment()
    apply_mlflow_client_defaults()
    uri_from_user = "FIRE_DATA_URI" in os.environ
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{args.server_port}")
    settings = load_settings()

    args.server_started = False
    try:
        return run_steps(args, settings, uri_from_user)
    except QuickstartError as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        if args.server_started and not args.keep_server:
            print("Stopping the MLflow server started by this command")
            stop_server()


if __name__ == "__main__":
    sys.exit(main())
