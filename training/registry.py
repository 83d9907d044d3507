"""Production alias, promotion guard, audit trail and rollback for the registered model.

Promotion moves the `production` alias with `set_registered_model_alias` (registry stages are
deprecated since MLflow 2.9). MLflow keeps no alias history, so every alias move is recorded as a
registered-model tag `promotion.NNNNNN` whose value is a JSON audit record. The whole history
then comes back with one `get_registered_model` call and survives server restarts.

MLflow has no compare-and-set on aliases. Promotions are serialised by a lock stored in MLflow
itself: creating the registered model `<name>.promotion-lock` is atomic on the server and fails
with RESOURCE_ALREADY_EXISTS while another client has created it and not yet deleted it.
Inside the lock a promotion checks that production is still the version the caller saw, moves
the alias and appends the record.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from training.errors import RegistryError, TrackingError
from training.settings import load_settings

logger = logging.getLogger(__name__)

AUDIT_TAG_PREFIX = "promotion."
LOCK_SUFFIX = ".promotion-lock"
LOCK_ACQUIRED_TAG = "acquired_at"
LOCK_OWNER_TAG = "owner"
# A lock older than this was left by a crashed client: a promotion needs a few requests only.
LOCK_STALE_SECONDS = 120.0
LOCK_WAIT_SECONDS = 60.0
GUARD_METRIC = "test_average_precision"
KEY_METRICS = (
    "test_average_precision",
    "test_roc_auc",
    "test_brier_score",
    "test_brier_skill_score",
    "test_log_loss",
    "test_capture_top10pct",
)
# Metrics where a smaller value is better; every other key metric is better when larger.
LOWER_IS_BETTER = frozenset({"test_brier_score", "test_log_loss"})
COMPARABILITY_TAGS = ("test_years", "horizon_days")
LEGACY_PRODUCTION_STAGE = "Production"

T = TypeVar("T")


@dataclass(frozen=True)
class VersionInfo:
    """One registered version with the tags the registry and the dashboard read."""

    version: int
    run_id: str
    source: str
    created: datetime
    stage: str
    aliases: tuple[str, ...]
    tags: Mapping[str, str]

    @property
    def model_family(self) -> str:
        return self.tags.get("model_family", "")

    @property
    def horizon_days(self) -> str:
        return self.tags.get("horizon_days", "")

    @property
    def test_years(self) -> str:
        return self.tags.get("test_years", "")

    @property
    def data_digest(self) -> str:
        return self.tags.get("data_digest", "")

    @property
    def metrics(self) -> dict[str, float]:
        """Key test metrics read from the version tags; missing or non-numeric ones are left out."""
        values = {}
        for name in KEY_METRICS:
            try:
                values[name] = float(self.tags[name])
            except (KeyError, ValueError):
                continue
        return values


@dataclass(frozen=True)
class AuditRecord:
    """One alias move, as stored in the `promotion.NNNNNN` tag."""

    sequence: int
    action: str
    who: str
    when: str
    from_version: int | None
    to_version: int
    reason: str
    override: bool
    from_metrics: Mapping[str, float] = field(default_factory=dict)
    to_metrics: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        payload = {
            "action": self.action,
            "who": self.who,
            "when": self.when,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "reason": self.reason,
            "override": self.override,
            "from_metrics": dict(self.from_metrics),
            "to_metrics": dict(self.to_metrics),
        }
        return json.dumps(payload, sort_keys=True)

    @classmethod
    def from_tag(cls, key: str, value: str) -> AuditRecord:
        payload = json.loads(value)
        from_version = payload.get("from_version")
        return cls(
            sequence=int(key.removeprefix(AUDIT_TAG_PREFIX)),
            action=str(payload.get("action", "")),
            who=str(payload.get("who", "")),
            when=str(payload.get("when", "")),
            from_version=None if from_version is None else int(from_version),
            to_version=int(payload["to_version"]),
            reason=str(payload.get("reason", "")),
            override=bool(payload.get("override", False)),
            from_metrics=dict(payload.get("from_metrics") or {}),
            to_metrics=dict(payload.get("to_metrics") or {}),
        )


@dataclass(frozen=True)
class RegistryState:
    """Production alias, legacy stage and audit trail of one registered model."""

    model_name: str
    alias: str
    alias_version: int | None
    aliases: Mapping[str, int]
    legacy_production_version: int | None
    history: tuple[AuditRecord, ...]

    @property
    def production_version(self) -> int | None:
        """The alias target, else a version left in the legacy "Production" stage, else None."""
        if self.alias_version is not None:
            return self.alias_version
        return self.legacy_production_version

    @property
    def is_legacy(self) -> bool:
        """True when production is known only from the deprecated stage, with no alias set."""
        return self.alias_version is None and self.legacy_production_version is not None

    @property
    def last_record(self) -> AuditRecord | None:
        return self.history[-1] if self.history else None


@dataclass(frozen=True)
class Comparison:
    """Candidate against production: whether they compare, metric differences, guard problems."""

    candidate: VersionInfo
    production: VersionInfo | None
    comparable: bool
    differences: Mapping[str, float]
    problems: tuple[str, ...]


def _who() -> str:
    user = os.environ.get("MLFLOW_TRACKING_USERNAME", "")
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _now() -> datetime:
    return datetime.now(UTC)


def call_mlflow(description: str, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run one MLflow client call and turn a transport failure into TrackingError.

    MLflow reports refused connections, time-outs and server failures as an MlflowException
    with the code INTERNAL_ERROR, and these become TrackingError. Errors about the request
    itself (not found, already exists, invalid value) are re-raised for the caller to explain.
    """
    try:
        return function(*args, **kwargs)
    except MlflowException as error:
        if error.error_code in {"RESOURCE_DOES_NOT_EXIST", "RESOURCE_ALREADY_EXISTS"}:
            raise
        if error.error_code == "INVALID_PARAMETER_VALUE":
            raise
        from mlflow import get_tracking_uri

        raise TrackingError(
            f"MLflow request to {description} failed at {get_tracking_uri()!r}: {error.message}. "
            "Check that the MLflow server is running and that MLFLOW_TRACKING_URI points to it."
        ) from error


def version_info(model_version: ModelVersion, aliases: Mapping[str, int]) -> VersionInfo:
    """Convert an MLflow ModelVersion, taking aliases from the registered model.

    Aliases come from `get_registered_model` because `search_model_versions` returns versions
    with an empty alias list on SQL stores.
    """
    number = int(model_version.version)
    return VersionInfo(
        version=number,
        run_id=model_version.run_id or "",
        source=model_version.source or "",
        created=datetime.fromtimestamp(model_version.creation_timestamp / 1000, UTC),
        stage=model_version.current_stage or "None",
        aliases=tuple(sorted(alias for alias, target in aliases.items() if target == number)),
        tags=dict(model_version.tags or {}),
    )


def read_history(tags: Mapping[str, str]) -> tuple[AuditRecord, ...]:
    """Parse the audit records stored in registered-model tags, oldest first."""
    records = []
    for key, value in tags.items():
        if not key.startswith(AUDIT_TAG_PREFIX):
            continue
        try:
            records.append(AuditRecord.from_tag(key, value))
        except (ValueError, KeyError, TypeError) as error:
            logger.warning("Skipping unreadable audit tag %r: %s", key, error)
    return tuple(sorted(records, key=lambda record: record.sequence))


def state_from_model(model: RegisteredModel, alias: str) -> RegistryState:
    """Build the registry state from one `get_registered_model` result."""
    aliases = {name: int(version) for name, version in (model.aliases or {}).items()}
    legacy = [
        int(version.version)
        for version in model.latest_versions or []
        if version.current_stage == LEGACY_PRODUCTION_STAGE
    ]
    return RegistryState(
        model_name=model.name,
        alias=alias,
        alias_version=aliases.get(alias),
        aliases=aliases,
        legacy_production_version=max(legacy) if legacy else None,
        history=read_history(model.tags or {}),
    )


def get_state(
    client: MlflowClient, model_name: str | None = None, alias: str | None = None
) -> RegistryState:
    """Read the production alias, the legacy stage and the audit trail in one request.

    Raises:
        RegistryError: the registered model does not exist.
        TrackingError: the server cannot be reached.
    """
    settings = load_settings()
    model_name = model_name or settings.model_name
    alias = alias or settings.production_alias
    try:
        model = call_mlflow("read registered model", client.get_registered_model, model_name)
    except MlflowException as error:
        raise RegistryError(
            f"registered model {model_name!r} not found: train and register a version first "
            "(python -m training train --register)."
        ) from error
    return state_from_model(model, alias)


def get_version(client: MlflowClient, state: RegistryState, version: int) -> VersionInfo:
    """Fetch one version of the state's model; RegistryError when it does not exist."""
    try:
        model_version = call_mlflow(
            f"read version {version}", client.get_model_version, state.model_name, str(version)
        )
    except MlflowException as error:
        raise RegistryError(
            f"version {version!r} of {state.model_name!r} not found: "
            "run `python -m training registry status` to list the versions."
        ) from error
    return version_info(model_version, state.aliases)


def compare_versions(candidate: VersionInfo, production: VersionInfo | None) -> Comparison:
    """Compare a candidate with production and list what the guard rejects.

    The guard rejects a candidate tested on other years or another horizon than production
    (its metrics are then not comparable), or one with a lower `test_average_precision`.
    With no production version there is nothing to compare and nothing is rejected.
    """
    if production is None:
        return Comparison(candidate, None, True, {}, ())
    problems = []
    for tag in COMPARABILITY_TAGS:
        ours, theirs = candidate.tags.get(tag, ""), production.tags.get(tag, "")
        if ours != theirs:
            problems.append(
                f"version {candidate.version} has {tag}={ours!r} but production version "
                f"{production.version} has {tag}={theirs!r}, so their metrics are not comparable"
            )
    comparable = not problems
    candidate_metrics, production_metrics = candidate.metrics, production.metrics
    differences = {
        name: candidate_metrics[name] - production_metrics[name]
        for name in KEY_METRICS
        if name in candidate_metrics and name in production_metrics
    }
    if GUARD_METRIC not in candidate_metrics:
        problems.append(f"version {candidate.version} has no {GUARD_METRIC} tag")
    elif GUARD_METRIC in production_metrics and differences[GUARD_METRIC] < 0:
        problems.append(
            f"version {candidate.version} has {GUARD_METRIC}="
            f"{candidate_metrics[GUARD_METRIC]:.4f}, worse than production version "
            f"{production.version} ({production_metrics[GUARD_METRIC]:.4f})"
        )
    return Comparison(candidate, production, comparable, differences, tuple(problems))


def compare_with_production(client: MlflowClient, state: RegistryState, version: int) -> Comparison:
    """Fetch a candidate and the current production version, then compare them."""
    candidate = get_version(client, state, version)
    current = state.production_version
    production = None if current is None else get_version(client, state, current)
    return compare_versions(candidate, production)


def _lock_name(model_name: str) -> str:
    return f"{model_name}{LOCK_SUFFIX}"


def _lock_age_seconds(client: MlflowClient, lock_name: str) -> float | None:
    """Age of the held lock from its timestamp tag; None when it vanished meanwhile."""
    try:
        lock = client.get_registered_model(lock_name)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    acquired = (lock.tags or {}).get(LOCK_ACQUIRED_TAG)
    if acquired is None:
        # The holder is between create and tag; judge by the creation time instead.
        return time.time() - lock.creation_timestamp / 1000
    return time.time() - float(acquired)


def acquire_lock(client: MlflowClient, model_name: str, wait_seconds: float) -> str:
    """Create the lock model, waiting while another client holds it; return the lock name.

    Raises:
        RegistryError: the lock stayed held for `wait_seconds`.
    """
    lock_name = _lock_name(model_name)
    owner = f"{_who()}@{os.uname().nodename}:{os.getpid()}"
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            call_mlflow(
                "take the promotion lock",
                client.create_registered_model,
                lock_name,
                tags={LOCK_ACQUIRED_TAG: f"{time.time():.3f}", LOCK_OWNER_TAG: owner},
                description="Held while a promotion of the production alias is in progress.",
            )
            return lock_name
        except MlflowException as error:
            # The SQL store handles a duplicate name by reading the existing model, which gives
            # RESOURCE_DOES_NOT_EXIST when the holder released the lock in between.
            if error.error_code not in {"RESOURCE_ALREADY_EXISTS", "RESOURCE_DOES_NOT_EXIST"}:
                raise
        age = _lock_age_seconds(client, lock_name)
        if age is not None and age > LOCK_STALE_SECONDS:
            # NOTE: two clients that both see the stale lock can both delete it, and the second
            # delete may remove the first client's fresh lock. This needs a crashed holder and
            # a race within one request, but it is not excluded.
            logger.warning("Removing stale promotion lock %r (%.0f s old)", lock_name, age)
            release_lock(client, lock_name)
            continue
        if time.monotonic() > deadline:
            raise RegistryError(
                f"promotion lock {lock_name!r} is still held after {wait_seconds:.0f} s: another "
                f"promotion is running. Retry later; a lock older than {LOCK_STALE_SECONDS:.0f} s "
                "is removed automatically."
            )
        time.sleep(random.uniform(0.05, 0.25))


def release_lock(client: MlflowClient, lock_name: str) -> None:
    """Delete the lock model; a lock already gone is not an error."""
    try:
        client.delete_registered_model(lock_name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            logger.error("Could not release promotion lock %r: %s", lock_name, error.message)


def _describe_state(state: RegistryState) -> str:
    current = state.production_version
    text = f"production is now version {current}" if current else "no version is in production"
    record = state.last_record
    if record is not None:
        text += (
            f" (last {record.action} by {record.who} at {record.when}: version "
            f"{record.from_version} -> {record.to_version}, reason {record.reason!r})"
        )
    return text


def _check_expected(state: RegistryState, expected_current: int | None) -> None:
    if state.production_version != expected_current:
        raise RegistryError(
            f"production moved since you looked: you expected version {expected_current}, but "
            f"{_describe_state(state)}. Reload the registry and decide again."
        )


def _check_guard(comparison: Comparison, override: bool, reason: str) -> None:
    if not comparison.problems:
        return
    if override and reason.strip():
        logger.warning("Guard overridden for version %s: %s", comparison.candidate.version, reason)
        return
    raise RegistryError(
        "promotion rejected: "
        + "; ".join(comparison.problems)
        + ". To promote anyway, override the guard (--override on the command line, the "
        "checkbox in the dashboard) and give a reason."
    )


def _next_sequence(state: RegistryState) -> int:
    return state.history[-1].sequence + 1 if state.history else 1


def move_alias(
    client: MlflowClient,
    version: int,
    reason: str,
    expected_current: int | None,
    override: bool = False,
    action: str = "promote",
    model_name: str | None = None,
) -> AuditRecord:
    """Point the production alias at `version` under the lock and append an audit record.

    `expected_current` is the production version the caller saw (None for none). If production
    changed since, nothing moves and RegistryError shows the new state. The guard in
    `compare_versions` applies unless `override` is set and `reason` is not blank.

    Raises:
        RegistryError: the version is unknown, already in production, rejected by the guard,
            production moved since the caller looked, or the lock stayed held.
        TrackingError: the server cannot be reached.
    """
    if not reason.strip():
        raise RegistryError(f"a reason is required to {action} version {version}: pass --reason.")
    settings = load_settings()
    model_name = model_name or settings.model_name
    lock_name = acquire_lock(client, model_name, LOCK_WAIT_SECONDS)
    try:
        state = get_state(client, model_name, settings.production_alias)
        _check_expected(state, expected_current)
        if state.alias_version == version:
            raise RegistryError(f"version {version} is already the production version.")
        comparison = compare_with_production(client, state, version)
        _check_guard(comparison, override, reason)
        record = AuditRecord(
            sequence=_next_sequence(state),
            action=action,
            who=_who(),
            when=_now().isoformat(timespec="seconds"),
            from_version=state.production_version,
            to_version=version,
            reason=reason.strip(),
            override=bool(override and comparison.problems),
            from_metrics=comparison.production.metrics if comparison.production else {},
            to_metrics=comparison.candidate.metrics,
        )
        call_mlflow(
            "move the production alias",
            client.set_registered_model_alias,
            model_name,
            state.alias,
            str(version),
        )
        call_mlflow(
            "write the audit record",
            client.set_registered_model_tag,
            model_name,
            f"{AUDIT_TAG_PREFIX}{record.sequence:06d}",
            record.to_json(),
        )
    finally:
        release_lock(client, lock_name)
    logger.info(
        "Alias %r of %r moved from version %s to %s by %s (%s)",
        state.alias,
        model_name,
        record.from_version,
        record.to_version,
        record.who,
        action,
    )
    return record


def promote(
    client: MlflowClient,
    version: int,
    reason: str,
    expected_current: int | None,
    override: bool = False,
    model_name: str | None = None,
) -> AuditRecord:
    """Promote `version` to production; see `move_alias` for the checks and errors."""
    return move_alias(client, version, reason, expected_current, override, "promote", model_name)


def production_stack(history: tuple[AuditRecord, ...]) -> list[int]:
    """Replay the audit trail: a promotion pushes its version and a rollback pops one.

    The last item is the version production should have now, and the one before it is where
    a rollback goes. A rollback therefore never undoes an earlier rollback.
    """
    stack: list[int] = []
    for record in history:
        if not stack and record.from_version is not None:
            stack.append(record.from_version)
        if record.action == "rollback" and len(stack) > 1 and stack[-2] == record.to_version:
            stack.pop()
        else:
            stack.append(record.to_version)
    return stack


def rollback_target(state: RegistryState) -> int:
    """Return the version that was in production before the current one was promoted.

    Raises:
        RegistryError: the audit trail does not end with the current production version (the
            alias was moved by other tools), or no earlier version is left to roll back to.
    """
    stack = production_stack(state.history)
    if len(stack) >= 2 and stack[-1] == state.production_version:
        return stack[-2]
    raise RegistryError(
        f"no earlier production version to roll back to: {_describe_state(state)}, and the "
        "audit trail has no promotion from an earlier version to it. Promote a version instead."
    )


def rollback(
    client: MlflowClient,
    reason: str,
    expected_current: int | None,
    override: bool = False,
    model_name: str | None = None,
) -> AuditRecord:
    """Move production back to the previous version from the audit trail, with every check.

    The guard applies as for a promotion, so rolling back to a version with a lower
    `test_average_precision` needs `override` and a reason.
    """
    state = get_state(client, model_name)
    _check_expected(state, expected_current)
    target = rollback_target(state)
    return move_alias(client, target, reason, expected_current, override, "rollback", model_name)
