"""Figure and table builders, and the gateway's filters and paging against a real server."""

from __future__ import annotations

import datetime as dt

import pytest
from mlflow.tracking import MlflowClient

from dashboard import charts, gateway
from training import registry
from training.errors import TrackingError


def _run(run_id: str, name: str, params: dict, metrics: dict) -> gateway.RunInfo:
    return gateway.RunInfo(run_id, name, "1", "FINISHED", None, params, metrics)


RUNS = [
    _run("a" * 32, "<b>bold</b>", {"C": "0.1", "model_family": "lr"}, {"test_roc_auc": 0.7}),
    _run("b" * 32, "second", {"C": "1.0", "model_family": "lr"}, {"test_roc_auc": 0.8}),
    _run("c" * 32, "third", {"C": "10", "model_family": "rf"}, {"other": 1.0}),
]


def test_metric_bar_escapes_and_skips_missing():
    figure = charts.metric_bar(RUNS, "test_roc_auc")

    assert list(figure.data[0].y) == [0.7, 0.8]
    assert figure.data[0].x[0].startswith("&lt;b&gt;bold&lt;/b&gt;")


def test_parallel_coordinates_codes_text_params():
    figure = charts.parallel_coordinates(RUNS, ["C", "model_family"], "test_roc_auc")

    dimensions = figure.data[0].dimensions
    assert list(dimensions[0].values) == [0.1, 1.0]
    assert list(dimensions[1].ticktext) == ["lr"]
    assert dimensions[2].label == "test_roc_auc"


def test_param_scatter_numeric_axis():
    figure = charts.param_scatter(RUNS, "C", "test_roc_auc")

    assert list(figure.data[0].x) == [0.1, 1.0]


def test_history_lines_one_trace_per_run():
    histories = {RUNS[0].run_id: [(0, 1.0), (1, 0.5)], RUNS[1].run_id: [(0, 2.0)]}

    figure = charts.history_lines(RUNS[:2], histories, "loss")

    assert len(figure.data) == 2
    assert list(figure.data[0].x) == [0, 1]


def test_params_metrics_table_differences_only():
    full = charts.params_metrics_table(RUNS[:2])
    reduced = charts.params_metrics_table(RUNS[:2], differences_only=True)

    assert "param model_family" in full.index
    assert "param model_family" not in reduced.index
    assert list(reduced.index) == ["metric test_roc_auc", "param C"]


def test_comparison_table_marks_better_side():
    def version(number, ap, brier):
        tags = {"test_years": "2010-2010", "horizon_days": "7"}
        tags |= {"test_average_precision": str(ap), "test_brier_score": str(brier)}
        return registry.VersionInfo(number, "", "", dt.datetime.now(dt.UTC), "None", (), tags)

    comparison = registry.compare_versions(version(2, 0.4, 0.02), version(1, 0.3, 0.01))

    table = charts.comparison_table(comparison).set_index("metric")
    assert table.loc["test_average_precision", "better"] == "candidate"
    assert table.loc["test_brier_score", "better"] == "production"
    assert table.loc["test_average_precision", "difference"] == pytest.approx(0.1)


def test_comparison_table_hides_incomparable_differences():
    def version(number, years):
        tags = {"test_years": years, "horizon_days": "7", "test_average_precision": "0.3"}
        return registry.VersionInfo(number, "", "", dt.datetime.now(dt.UTC), "None", (), tags)

    comparison = registry.compare_versions(version(2, "2011-2011"), version(1, "2010-2010"))

    table = charts.comparison_table(comparison).set_index("metric")
    assert comparison.comparable is False
    assert table.loc["test_average_precision", "candidate"] == 0.3
    assert table["difference"].isna().all()
    assert set(table["better"]) == {""}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, ""),
        ({"family": "climatology"}, "params.model_family = 'climatology'"),
        ({"family": "o'brien"}, "params.model_family = 'o\\'brien'"),
        (
            {"metric": "test_roc_auc", "metric_min": 0.7},
            "metrics.`test_roc_auc` >= 0.7",
        ),
        (
            {"started_after": dt.date(2026, 1, 2), "extra": "params.C = '1.0'"},
            "attributes.start_time >= 1767312000000 and params.C = '1.0'",
        ),
    ],
)
def test_build_run_filter(arguments, expected):
    assert gateway.build_run_filter(**arguments) == expected


def test_search_runs_pages_on_server(dashboard_env):
    client = MlflowClient(dashboard_env.url, dashboard_env.url)
    experiment = gateway.find_experiment(client, dashboard_env.experiment_name)

    first = gateway.search_runs_page(client, experiment.experiment_id, max_results=3)
    second = gateway.search_runs_page(
        client, experiment.experiment_id, max_results=3, page_token=first.next_page_token
    )
    filtered = gateway.search_runs_page(
        client, experiment.experiment_id, gateway.build_run_filter(family="logistic_regression")
    )

    assert len(first.runs) == 3
    assert len(second.runs) == 2
    assert second.next_page_token is None
    assert {run.model_family for run in filtered.runs} == {"logistic_regression"}
    assert gateway.count_runs(client, experiment.experiment_id) == 5


def test_list_versions_reads_aliases(dashboard_env):
    client = MlflowClient(dashboard_env.url, dashboard_env.url)

    versions = gateway.list_versions(client, dashboard_env.model_name)

    assert [version.version for version in versions] == list(reversed(dashboard_env.versions))
    assert versions[-1].aliases == ("production",)
    assert versions[0].aliases == ()


def test_run_images_downloads_pngs(dashboard_env):
    client = MlflowClient(dashboard_env.url, dashboard_env.url)

    images = gateway.run_images(client, dashboard_env.run_ids[0])

    assert sorted(image.path for image in images) == [
        "evaluation/test_reliability.png",
        "evaluation/test_roc_pr.png",
    ]
    assert all(image.content.startswith(b"\x89PNG") for image in images)


def test_server_status_when_down(monkeypatch):
    from tests.servers import free_port

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    url = f"http://127.0.0.1:{free_port()}"

    status = gateway.server_status(MlflowClient(url, url), "m", "production")

    assert status.reachable is False
    assert "Check that the MLflow server is running" in status.error
    with pytest.raises(TrackingError):
        gateway.list_experiments(MlflowClient(url, url))


def test_varying_params_family_first():
    runs = [
        _run("a", "one", {"model_family": "climatology", "seed": "1", "max_iter": "100"}, {}),
        _run("b", "two", {"model_family": "logistic_regression", "seed": "1"}, {}),
    ]
    assert charts.varying_param_names(runs) == ["model_family", "max_iter"]


def test_varying_params_empty_when_identical():
    runs = [_run("a", "one", {"seed": "1"}, {}), _run("b", "two", {"seed": "1"}, {})]
    assert charts.varying_param_names(runs) == []
