"""`python -m training registry status|promote|rollback`: the production alias from a shell."""

from __future__ import annotations

import argparse

from mlflow.tracking import MlflowClient

from training import registry
from training.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "registry",
        help="show, promote or roll back the production version",
        description="Show the production version of the registered model, promote a version "
        "or roll back. Promotions are checked by the guard and recorded in MLflow.",
    )
    commands = parser.add_subparsers(dest="registry_command", required=True)

    status = commands.add_parser("status", help="production version, aliases and history")
    status.set_defaults(handler=run_status)

    promote = commands.add_parser("promote", help="move the production alias to VERSION")
    promote.add_argument("version", type=int, help="registered version number to promote")
    promote.add_argument("--reason", required=True, help="why, stored in the audit trail")
    promote.add_argument(
        "--override",
        action="store_true",
        help="promote even if the guard rejects the version (worse test_average_precision, "
        "other test years or horizon)",
    )
    promote.set_defaults(handler=run_promote)

    rollback = commands.add_parser(
        "rollback", help="move the production alias back to the previous production version"
    )
    rollback.add_argument("--reason", default="rollback", help="why, stored in the audit trail")
    rollback.add_argument(
        "--override", action="store_true", help="roll back even if the guard rejects the version"
    )
    rollback.set_defaults(handler=run_rollback)


def _client() -> MlflowClient:
    settings = load_settings()
    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)


def _format_metrics(metrics: dict[str, float]) -> str:
    return ", ".join(f"{name}={value:.4f}" for name, value in metrics.items()) or "no metrics"


def format_status(state: registry.RegistryState, production: registry.VersionInfo | None) -> str:
    """Render the registry state as the text printed by `registry status`."""
    lines = [f"registered model: {state.model_name}"]
    if production is None:
        lines.append(f"production: none (alias {state.alias!r} is not set)")
    else:
        lines.append(
            f"production: version {production.version} ({production.model_family or '?'}, "
            f"horizon {production.horizon_days or '?'} days, test years "
            f"{production.test_years or '?'})"
        )
        lines.append(f"  metrics: {_format_metrics(production.metrics)}")
        lines.append(f"  run: {production.run_id or 'none'}")
    if state.is_legacy:
        lines.append(
            f"legacy: version {state.legacy_production_version} is in the deprecated "
            f"'Production' stage and no {state.alias!r} alias is set; promote a version to set it"
        )
    elif state.legacy_production_version is not None:
        lines.append(f"legacy stage 'Production': version {state.legacy_production_version}")
    aliases = ", ".join(f"{name} -> {version}" for name, version in sorted(state.aliases.items()))
    lines.append(f"aliases: {aliases or 'none'}")
    lines.append("history:")
    if not state.history:
        lines.append("  no promotion recorded")
    for record in state.history:
        flag = " (override)" if record.override else ""
        lines.append(
            f"  #{record.sequence} {record.when} {record.action} {record.from_version} -> "
            f"{record.to_version} by {record.who}{flag}: {record.reason}"
        )
    return "\n".join(lines)


def run_status(args: argparse.Namespace) -> int:
    client = _client()
    state = registry.get_state(client)
    current = state.production_version
    production = None if current is None else registry.get_version(client, state, current)
    print(format_status(state, production))
    return 0


def run_promote(args: argparse.Namespace) -> int:
    client = _client()
    state = registry.get_state(client)
    record = registry.promote(
        client, args.version, args.reason, state.production_version, override=args.override
    )
    previous = "none" if record.from_version is None else f"version {record.from_version}"
    print(f"version {record.to_version} is now in production (previously {previous}).")
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    client = _client()
    state = registry.get_state(client)
    record = registry.rollback(client, args.reason, state.production_version, args.override)
    print(
        f"rolled back: version {record.to_version} is now in production (was "
        f"{record.from_version})."
    )
    return 0
