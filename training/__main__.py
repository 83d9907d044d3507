"""Command line: `python -m training {data,train,predict,registry} ...`.

Each sub-command group lives in `training/cli/`. This file wires them together, configures
logging, and turns the product's own errors into a one-line message and exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from training.cli import data as data_cli
from training.cli import registry as registry_cli
from training.cli import train as train_cli
from training.errors import FireRiskError
from training.settings import (
    SettingsError,
    apply_mlflow_client_defaults,
    export_secrets_to_environment,
)

logger = logging.getLogger("training")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Corsica fire risk: check and fetch data, train, predict, manage the registry.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    subparsers = parser.add_subparsers(dest="command", required=True)
    data_cli.register(subparsers)
    train_cli.register(subparsers)
    registry_cli.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    export_secrets_to_environment()
    apply_mlflow_client_defaults()
    try:
        return int(args.handler(args) or 0)
    except (FireRiskError, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
