"""Promotion, guard, audit trail, rollback and the promotion race against a real MLflow server."""

from __future__ import annotations

import json
import multiprocessing
import warnings

import pytest
from mlflow.tracking import MlflowClient

from tests.dashboard import seed
from training import registry
from training.cli import registry as registry_cli
from training.errors import RegistryError, TrackingError


@pytest.fixture(scope="module")
def logged_model(mlflow_server) -> tuple[str, str]:
    """One real sklearn model logged once; every test registers versions from it."""
    import mlflow

    mlflow.set_tracking_uri(mlflow_server.url)
    try:
        run_id, model_uri = seed.log_run(seed.unique_name("registry-runs"), "base", 0.3)
    finally:
        mlflow.set_tracking_uri(None)
    return run_id, model_uri


@pytest.fixture
def client(tracking_uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def _model_with_versions(client, logged_model, *tag_sets) -> tuple[str, list[int]]:
    run_id, model_uri = logged_model
    name = seed.unique_name("fire-registry")
    versions = [seed.register_version(client, name, model_uri, run_id, tags) for tags in tag_sets]
    return name, versions


def test_first_promotion_sets_alias(client, logged_model):
    name, (v1,) = _model_with_versions(client, logged_model, seed.version_tags(0.3))

    record = registry.promote(client, v1, "first model", None, model_name=name)

    assert client.get_registered_model(name).aliases == {"production": str(v1)}
    assert record.from_version is None
    assert record.to_version == v1
    state = registry.get_state(client, name)
    assert state.production_version == v1
    assert state.history == (record,)


def test_audit_record_contents(client, logged_model, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    name, (v1, v2) = _model_with_versions(
        client, logged_model, seed.version_tags(0.30), seed.version_tags(0.35)
    )
    registry.promote(client, v1, "baseline", None, model_name=name)
    registry.promote(client, v2, "better precision", v1, model_name=name)

    tags = client.get_registered_model(name).tags
    stored = json.loads(tags["promotion.000002"])
    assert stored["who"] == "alice"
    assert stored["action"] == "promote"
    assert stored["from_version"] == v1
    assert stored["to_version"] == v2
    assert stored["reason"] == "better precision"
    assert stored["override"] is False
    assert stored["when"].endswith("+00:00")
    assert stored["from_metrics"]["test_average_precision"] == pytest.approx(0.30)
    assert stored["to_metrics"]["test_average_precision"] == pytest.approx(0.35)
    assert set(stored["to_metrics"]) == set(registry.KEY_METRICS)


def test_guard_rejects_worse_candidate(client, logged_model):
    name, (v1, v2) = _model_with_versions(
        client, logged_model, seed.version_tags(0.40), seed.version_tags(0.20)
    )
    registry.promote(client, v1, "baseline", None, model_name=name)

    with pytest.raises(RegistryError, match=r"test_average_precision=0\.2000, worse than"):
        registry.promote(client, v2, "try", v1, model_name=name)

    assert client.get_registered_model(name).aliases == {"production": str(v1)}
    assert len(registry.get_state(client, name).history) == 1


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (seed.version_tags(0.5, test_years="2011-2011"), "test_years='2011-2011'"),
        (seed.version_tags(0.5, horizon_days="3"), "horizon_days='3'"),
    ],
)
def test_guard_rejects_incomparable_candidate(client, logged_model, tags, message):
    name, (v1, v2) = _model_with_versions(client, logged_model, seed.version_tags(0.3), tags)
    registry.promote(client, v1, "baseline", None, model_name=name)

    with pytest.raises(RegistryError, match=message):
        registry.promote(client, v2, "try", v1, model_name=name)

    comparison = registry.compare_with_production(client, registry.get_state(client, name), v2)
    assert comparison.comparable is False


def test_override_needs_reason_and_is_recorded(client, logged_model):
    name, (v1, v2) = _model_with_versions(
        client, logged_model, seed.version_tags(0.40), seed.version_tags(0.20)
    )
    registry.promote(client, v1, "baseline", None, model_name=name)

    with pytest.raises(RegistryError, match="reason is required"):
        registry.promote(client, v2, "  ", v1, override=True, model_name=name)
    record = registry.promote(client, v2, "needed for a demo", v1, override=True, model_name=name)

    assert record.override is True
    assert client.get_registered_model(name).aliases == {"production": str(v2)}


def test_stale_expected_version_is_rejected(client, logged_model):
    name, (v1, v2, v3) = _model_with_versions(
        client,
        logged_model,
        seed.version_tags(0.3),
        seed.version_tags(0.4),
        seed.version_tags(0.5),
    )
    registry.promote(client, v1, "baseline", None, model_name=name)
    registry.promote(client, v2, "someone else", v1, model_name=name)

    with pytest.raises(
        RegistryError, match=f"expected version {v1}, but production is now version {v2}"
    ) as raised:
        registry.promote(client, v3, "mine", v1, model_name=name)

    assert "someone else" in str(raised.value)
    assert client.get_registered_model(name).aliases == {"production": str(v2)}


def test_promoting_current_version_is_rejected(client, logged_model):
    name, (v1,) = _model_with_versions(client, logged_model, seed.version_tags(0.3))
    registry.promote(client, v1, "baseline", None, model_name=name)

    with pytest.raises(RegistryError, match="already the production version"):
        registry.promote(client, v1, "again", v1, model_name=name)


def test_unknown_version_is_rejected(client, logged_model):
    name, (v1,) = _model_with_versions(client, logged_model, seed.version_tags(0.3))

    with pytest.raises(RegistryError, match="version 99 of .* not found"):
        registry.promote(client, 99, "typo", None, model_name=name)


def test_rollback_restores_previous_version(client, logged_model):
    name, (v1, v2) = _model_with_versions(
        client, logged_model, seed.version_tags(0.30), seed.version_tags(0.35)
    )
    registry.promote(client, v1, "baseline", None, model_name=name)
    registry.promote(client, v2, "better", v1, model_name=name)

    with pytest.raises(RegistryError, match="worse than production"):
        registry.rollback(client, "v2 artifact is broken", v2, model_name=name)
    record = registry.rollback(client, "v2 artifact is broken", v2, override=True, model_name=name)

    assert record.action == "rollback"
    assert record.from_version == v2
    assert record.to_version == v1
    assert client.get_registered_model(name).aliases == {"production": str(v1)}
    assert [r.to_version for r in registry.get_state(client, name).history] == [v1, v2, v1]


def test_second_rollback_goes_further_back(client, logged_model):
    name, (v1, v2, v3) = _model_with_versions(
        client,
        logged_model,
        seed.version_tags(0.30),
        seed.version_tags(0.35),
        seed.version_tags(0.40),
    )
    registry.promote(client, v1, "first", None, model_name=name)
    registry.promote(client, v2, "second", v1, model_name=name)
    registry.promote(client, v3, "third", v2, model_name=name)

    registry.rollback(client, "v3 broken", v3, override=True, model_name=name)
    registry.rollback(client, "v2 broken too", v2, override=True, model_name=name)

    assert client.get_registered_model(name).aliases == {"production": str(v1)}
    with pytest.raises(RegistryError, match="no earlier production version"):
        registry.rollback(client, "nothing left", v1, override=True, model_name=name)


def test_rollback_without_history_is_rejected(client, logged_model):
    name, (v1,) = _model_with_versions(client, logged_model, seed.version_tags(0.3))
    registry.promote(client, v1, "baseline", None, model_name=name)

    with pytest.raises(RegistryError, match="no earlier production version"):
        registry.rollback(client, "nothing before", v1, model_name=name)


def test_legacy_stage_is_reported_and_alias_set(client, logged_model):
    name, (v1, v2) = _model_with_versions(
        client, logged_model, seed.version_tags(0.3), seed.version_tags(0.4)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        client.transition_model_version_stage(name, str(v1), "Production")

    state = registry.get_state(client, name)
    assert state.is_legacy
    assert state.production_version == v1
    status = registry_cli.format_status(state, registry.get_version(client, state, v1))
    assert f"legacy: version {v1} is in the deprecated 'Production' stage" in status

    record = registry.promote(client, v2, "move to aliases", v1, model_name=name)

    assert record.from_version == v1
    after = registry.get_state(client, name)
    assert after.alias_version == v2
    assert after.is_legacy is False


def test_server_down_raises_tracking_error(monkeypatch):
    from tests.servers import free_port

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    url = f"http://127.0.0.1:{free_port()}"
    down = MlflowClient(tracking_uri=url, registry_uri=url)

    with pytest.raises(TrackingError, match="Check that the MLflow server is running"):
        registry.get_state(down, "anything")


def _race_worker(url: str, name: str, version: int, barrier, results) -> None:
    """Read the state, wait for every worker, then promote: the real read-then-act race."""
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    barrier.wait(timeout=180)
    try:
        state = registry.get_state(client, name)
        record = registry.promote(
            client, version, f"race {version}", state.production_version, True, name
        )
        results.put(("promoted", version, record.sequence))
    except RegistryError as error:
        results.put(("rejected", version, str(error)))
    except Exception as error:  # reported to the test, which fails on it
        results.put(("failed", version, repr(error)))


def test_twenty_racing_promotions_stay_consistent(client, logged_model):
    name, versions = _model_with_versions(
        client, logged_model, *[seed.version_tags(0.1 + i / 100) for i in range(21)]
    )
    registry.promote(client, versions[0], "baseline", None, model_name=name)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(20)
    results = context.Queue()
    workers = [
        context.Process(
            target=_race_worker, args=(client.tracking_uri, name, version, barrier, results)
        )
        for version in versions[1:]
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=240) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)

    promoted = [outcome for outcome in outcomes if outcome[0] == "promoted"]
    rejected = [outcome for outcome in outcomes if outcome[0] == "rejected"]
    assert len(promoted) + len(rejected) == 20
    assert promoted, "no promotion succeeded"
    assert all("production moved" in message for _, _, message in rejected)
    state = registry.get_state(client, name)
    assert len(state.history) == 1 + len(promoted)
    chain = [record.to_version for record in state.history]
    assert [record.from_version for record in state.history[1:]] == chain[:-1]
    assert client.get_registered_model(name).aliases == {"production": str(chain[-1])}
    assert [record.sequence for record in state.history] == list(range(1, len(chain) + 1))
    lock_name = name + registry.LOCK_SUFFIX
    assert not client.search_registered_models(filter_string=f"name = '{lock_name}'")
