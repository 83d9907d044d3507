"""AppTest smoke tests of every page against a real, seeded MLflow server."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient
from streamlit.testing.v1 import AppTest

from tests.dashboard import seed
from tests.dashboard.conftest import XSS_RUN_NAME
from tests.servers import free_port
from training import registry

HOME = str(Path(__file__).resolve().parents[2] / "dashboard" / "Home.py")
TIMEOUT = 60


def _open(page: str | None = None) -> AppTest:
    app = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    app.run()
    if page is not None:
        app.switch_page(page)
        app.run()
    assert not app.exception, app.exception
    return app


def _restore_production(client: MlflowClient, dashboard_env, expected_current: int) -> None:
    """Roll production back so that later tests see the seeded registry."""
    registry.rollback(
        client,
        "restore the seeded state",
        expected_current,
        override=True,
        model_name=dashboard_env.model_name,
    )


def _texts(app: AppTest) -> str:
    parts = [element.value for element in app.markdown]
    parts += [element.value for element in app.caption]
    parts += [element.value for element in app.info]
    parts += [element.value for element in app.error]
    parts += [element.value for element in app.warning]
    parts += [element.value for element in app.success]
    return "\n".join(str(part) for part in parts)


def test_home_shows_production_and_counts(dashboard_env):
    app = _open()

    assert not app.error
    assert f"Production: **version {dashboard_env.versions[0]}**" in _texts(app)
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Registered versions"] == "2"
    assert metrics["Runs"] == "5"
    assert metrics["average_precision"] == "0.300"


def test_home_escapes_html_run_name(dashboard_env):
    app = _open()

    latest = app.dataframe[0].value
    assert XSS_RUN_NAME in set(latest["run"])
    for element in app.markdown:
        assert "<img" not in element.value
        assert not element.proto.allow_html or "onerror" not in element.value


def test_compare_selects_three_runs(dashboard_env):
    app = _open("pages/compare_runs.py")
    selector = app.multiselect(key="compare_selected")
    assert len(selector.options) == 5

    selector.set_value(list(dashboard_env.run_ids[:3])).run()

    assert not app.exception, app.exception
    charts = app.get("plotly_chart")
    assert len(charts) == 4
    table = app.dataframe[-1].value
    assert table.shape[1] == 3
    run_images = [
        image for image in app.get("image") if image.proto.imgs[0].caption.startswith("evaluation/")
    ]
    assert len(run_images) == 6


def test_compare_differences_only(dashboard_env):
    app = _open("pages/compare_runs.py")
    app.multiselect(key="compare_selected").set_value(list(dashboard_env.run_ids[1:3])).run()
    full = app.dataframe[-1].value

    app.toggle(key="compare_differences").set_value(True).run()

    reduced = app.dataframe[-1].value
    assert len(reduced) < len(full)
    assert "param C" in reduced.index
    assert "param horizon_days" not in reduced.index


def test_compare_filters_on_family(dashboard_env):
    app = _open("pages/compare_runs.py")

    app.selectbox(key="compare_family").set_value("logistic_regression").run()

    assert len(app.multiselect(key="compare_selected").options) == 2


def test_compare_pages_through_runs(dashboard_env):
    app = _open("pages/compare_runs.py")
    app.selectbox(key="compare_size").set_value(50).run()
    assert app.button(key="compare_next").disabled


def test_registry_lists_versions_and_history(dashboard_env):
    app = _open("pages/model_registry.py")

    versions = app.dataframe[0].value
    assert list(versions["version"]) == list(reversed(dashboard_env.versions))
    assert versions.loc[versions["version"] == dashboard_env.versions[0], "aliases"].item() == (
        "production"
    )
    history = app.dataframe[-1].value
    assert "seeded baseline" in set(history["reason"])


def test_registry_promotes_through_dialog(dashboard_env):
    client = MlflowClient(dashboard_env.url, dashboard_env.url)
    first, second = dashboard_env.versions
    app = _open("pages/model_registry.py")
    app.selectbox(key="registry_candidate").set_value(second).run()

    app.button(key="registry_promote").click().run()
    app.text_input(key="dialog_reason").input("better precision").run()
    app.button(key="dialog_confirm").click().run()

    assert not app.exception, app.exception
    assert client.get_registered_model(dashboard_env.model_name).aliases == {
        "production": str(second)
    }
    assert f"Version {second} is now in production" in _texts(app)
    _restore_production(client, dashboard_env, second)


def test_registry_rejects_when_alias_moved(dashboard_env):
    client = MlflowClient(dashboard_env.url, dashboard_env.url)
    first, second = dashboard_env.versions
    app = _open("pages/model_registry.py")
    app.selectbox(key="registry_candidate").set_value(second).run()
    registry.promote(client, second, "someone else", first, model_name=dashboard_env.model_name)

    app.button(key="registry_promote").click().run()
    app.text_input(key="dialog_reason").input("mine").run()
    app.button(key="dialog_confirm").click().run()

    assert "production moved since you looked" in _texts(app)
    _restore_production(client, dashboard_env, second)


def test_registry_read_only_hides_controls(dashboard_env, monkeypatch):
    monkeypatch.setenv("DASHBOARD_READ_ONLY", "1")
    app = _open("pages/model_registry.py")

    keys = {button.key for button in app.button}
    assert "registry_promote" not in keys
    assert "registry_rollback" not in keys
    assert "registry_reload" not in keys
    assert "Read-only mode" in _texts(app)


@pytest.mark.parametrize("page", [None, "pages/compare_runs.py", "pages/model_registry.py"])
def test_server_down_shows_error(dashboard_env, monkeypatch, page):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")

    app = _open(page)

    assert len(app.error) == 1
    assert "does not answer" in app.error[0].value
    assert "MLFLOW_TRACKING_URI" in app.error[0].value


def _production(server) -> int:
    client = MlflowClient(server.url, server.url)
    return registry.get_state(client, server.model_name).production_version


def test_map_shows_production_model(map_env):
    production = _production(map_env)
    app = _open("pages/fire_map.py")

    assert not app.error, [error.value for error in app.error]
    text = _texts(app)
    assert f"model version {production}" in text
    assert "Source: BDIFF, bdiff.agriculture.gouv.fr" in text
    assert "not an official warning" in text
    top = app.dataframe[0].value
    assert len(top) == 10
    assert top["probability"].is_monotonic_decreasing
    assert app.date_input(key="map_date").value.isoformat() == "2016-10-27"


def test_map_filters_department(map_env):
    app = _open("pages/fire_map.py")

    app.radio(key="map_dept").set_value("2A").run()

    assert set(app.dataframe[0].value["department"]) == {"2A"}


def test_map_backtest_counts_fires(map_env):
    app = _open("pages/fire_map.py")

    app.date_input(key="map_date").set_value("2010-08-10").run()

    summary = app.dataframe[1].value
    assert list(summary["class"]) == ["Low", "Moderate", "High", "Very high"]
    assert summary["communes"].sum() == 360
    assert summary["fires"].sum() > 0


def test_map_broken_version_offers_rollback(map_env, monkeypatch):
    client = MlflowClient(map_env.url, map_env.url)
    production = _production(map_env)
    # A plain sklearn model without the feature metadata the map needs.
    mlflow.set_tracking_uri(map_env.url)
    try:
        run_id, model_uri = seed.log_run(map_env.experiment_name, "no-metadata", 0.5)
    finally:
        # set_tracking_uri(None) also removes MLFLOW_TRACKING_URI from the environment.
        mlflow.set_tracking_uri(None)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", map_env.url)
    tags = client.get_model_version(map_env.model_name, str(production)).tags
    broken = seed.register_version(client, map_env.model_name, model_uri, run_id, tags)
    registry.promote(client, broken, "broken on purpose", production, True, map_env.model_name)
    try:
        app = _open("pages/fire_map.py")

        assert f"Production version {broken} cannot be used" in app.error[0].value
        assert app.button(key="map_rollback").label == f"Roll back to version {production}"
    finally:
        registry.rollback(client, "restore", int(broken), True, map_env.model_name)
