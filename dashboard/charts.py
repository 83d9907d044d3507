"""Plotly figures and tables built from gateway results, as pure functions.

Run names and other MLflow text are HTML-escaped before they reach a plotly label, because
plotly renders a subset of HTML in text. Tables are shown with st.dataframe, which displays
cell text literally.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from dashboard.gateway import RunInfo, run_url
from training import registry


def _label(run: RunInfo) -> str:
    return html.escape(run.label)


def find_version(
    versions: Sequence[registry.VersionInfo], number: int | None
) -> registry.VersionInfo | None:
    return next((version for version in versions if version.version == number), None)


def last_promotion_to(
    state: registry.RegistryState | None, version: int
) -> registry.AuditRecord | None:
    """Return the latest audit record that moved production to `version`, if any."""
    if state is None:
        return None
    return next((r for r in reversed(state.history) if r.to_version == version), None)


def runs_table(runs: Sequence[RunInfo], links: bool = False) -> pd.DataFrame:
    """Tabulate runs: name, family, start time, status and the key test metrics."""
    rows = []
    for run in runs:
        row = {
            "run": run.name,
            "run_id": run.run_id,
            "family": run.model_family,
            "started": run.start_time,
            "status": run.status,
        }
        for metric in registry.KEY_METRICS[:3]:
            row[metric] = run.metrics.get(metric)
        if links:
            row["MLflow"] = run_url(run)
        rows.append(row)
    return pd.DataFrame(rows)


def metric_names(runs: Sequence[RunInfo]) -> list[str]:
    """Metric keys of the runs, key test metrics first, then the rest sorted."""
    names = {name for run in runs for name in run.metrics}
    first = [name for name in registry.KEY_METRICS if name in names]
    return first + sorted(names - set(first))


def param_names(runs: Sequence[RunInfo]) -> list[str]:
    return sorted({name for run in runs for name in run.params})


def varying_param_names(runs: Sequence[RunInfo]) -> list[str]:
    """Params whose value differs between the runs (a missing param counts as a value).

    `model_family` comes first, because it is the param readers compare most often.
    """
    varying = [
        name for name in param_names(runs) if len({run.params.get(name) for run in runs}) > 1
    ]
    return sorted(varying, key=lambda name: (name != "model_family", name))


def params_metrics_table(runs: Sequence[RunInfo], differences_only: bool = False) -> pd.DataFrame:
    """Params and metrics as rows, one column per run; optionally only rows that differ."""
    columns = {}
    for run in runs:
        values: dict[str, object] = {f"param {k}": v for k, v in run.params.items()}
        values.update({f"metric {k}": v for k, v in run.metrics.items()})
        columns[run.label] = values
    table = pd.DataFrame(columns).sort_index()
    if differences_only and not table.empty:
        varying = table.astype(str).nunique(axis=1, dropna=False) > 1
        table = table[varying]
    return table.astype(str).replace({"nan": ""})


def metric_bar(runs: Sequence[RunInfo], metric: str) -> go.Figure:
    """Draw one bar per run for one metric; runs without the metric are left out."""
    kept = [run for run in runs if metric in run.metrics]
    figure = go.Figure(
        go.Bar(
            x=[_label(run) for run in kept],
            y=[run.metrics[metric] for run in kept],
            marker_color="#f28c0f",
        )
    )
    figure.update_layout(
        title=html.escape(metric), xaxis_title="run", yaxis_title=html.escape(metric)
    )
    return figure


def _numeric_dimension(name: str, values: list[str]) -> dict:
    """Build a parallel-coordinates axis; text values become integer codes with tick labels."""
    numbers = pd.to_numeric(pd.Series(values), errors="coerce")
    if numbers.notna().all():
        return {"label": html.escape(name), "values": numbers.tolist()}
    categories = sorted(set(values))
    codes = [categories.index(value) for value in values]
    return {
        "label": html.escape(name),
        "values": codes,
        "tickvals": list(range(len(categories))),
        "ticktext": [html.escape(category) for category in categories],
    }


def parallel_coordinates(runs: Sequence[RunInfo], params: Sequence[str], metric: str) -> go.Figure:
    """Parallel coordinates from the chosen params to one metric, coloured by the metric."""
    kept = [run for run in runs if metric in run.metrics]
    dimensions = [
        _numeric_dimension(param, [run.params.get(param, "") for run in kept]) for param in params
    ]
    metric_values = [run.metrics[metric] for run in kept]
    dimensions.append({"label": html.escape(metric), "values": metric_values})
    figure = go.Figure(
        go.Parcoords(
            line={"color": metric_values, "colorscale": "YlOrRd", "showscale": True},
            dimensions=dimensions,
        )
    )
    # The wide left margin keeps the first axis's label and category names inside the figure.
    figure.update_layout(
        title=f"Params against {html.escape(metric)}", margin={"l": 120, "r": 60, "t": 90}
    )
    return figure


def param_scatter(runs: Sequence[RunInfo], param: str, metric: str) -> go.Figure:
    """Scatter of one param (numeric when it parses, else categorical) against one metric."""
    kept = [run for run in runs if metric in run.metrics and param in run.params]
    raw = [run.params[param] for run in kept]
    numbers = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce")
    x_values = numbers.tolist() if numbers.notna().all() else [html.escape(v) for v in raw]
    figure = go.Figure(
        go.Scatter(
            x=x_values,
            y=[run.metrics[metric] for run in kept],
            mode="markers",
            text=[_label(run) for run in kept],
            marker={"size": 10, "color": "#d7191c"},
        )
    )
    figure.update_layout(
        title=f"{html.escape(metric)} against {html.escape(param)}",
        xaxis_title=html.escape(param),
        yaxis_title=html.escape(metric),
    )
    return figure


def history_lines(
    runs: Sequence[RunInfo], histories: Mapping[str, Sequence[tuple[int, float]]], metric: str
) -> go.Figure:
    """Draw one line per run of a metric's logged values by step."""
    figure = go.Figure()
    for run in runs:
        points = histories.get(run.run_id, [])
        figure.add_trace(
            go.Scatter(
                x=[step for step, _ in points],
                y=[value for _, value in points],
                mode="lines+markers",
                name=_label(run),
            )
        )
    figure.update_layout(title=f"{html.escape(metric)} by step", xaxis_title="step")
    return figure


def versions_table(versions: Sequence[registry.VersionInfo]) -> pd.DataFrame:
    """Every registered version with aliases, family, horizon, test years and key metrics."""
    rows = []
    for version in versions:
        row = {
            "version": version.version,
            "aliases": ", ".join(version.aliases),
            "stage": "" if version.stage == "None" else version.stage,
            "family": version.model_family,
            "horizon_days": version.horizon_days,
            "test_years": version.test_years,
        }
        row.update({name: version.metrics.get(name) for name in registry.KEY_METRICS})
        row.update(
            {
                "run_id": version.run_id,
                "created": version.created,
                "data_digest": version.data_digest[:12],
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def comparison_table(comparison: registry.Comparison) -> pd.DataFrame:
    """Tabulate candidate and production metrics, with the difference and the better side.

    The difference is left empty when the versions are not comparable.
    """
    candidate = comparison.candidate.metrics
    production = comparison.production.metrics if comparison.production else {}
    rows = []
    for name in registry.KEY_METRICS:
        if name not in candidate and name not in production:
            continue
        # Metrics from other test years or horizons are shown, but their difference means nothing.
        difference = comparison.differences.get(name) if comparison.comparable else None
        better = ""
        if difference is not None and difference != 0:
            improves = difference < 0 if name in registry.LOWER_IS_BETTER else difference > 0
            better = "candidate" if improves else "production"
        rows.append(
            {
                "metric": name,
                "candidate": candidate.get(name),
                "production": production.get(name),
                "difference": difference,
                "better": better,
            }
        )
    return pd.DataFrame(rows)


def audit_table(state: registry.RegistryState) -> pd.DataFrame:
    """Tabulate the promotion history, newest first."""
    rows = [
        {
            "#": record.sequence,
            "when": record.when,
            "action": record.action,
            "from": record.from_version,
            "to": record.to_version,
            "who": record.who,
            "reason": record.reason,
            "override": record.override,
            "from AP": record.from_metrics.get(registry.GUARD_METRIC),
            "to AP": record.to_metrics.get(registry.GUARD_METRIC),
        }
        for record in reversed(state.history)
    ]
    return pd.DataFrame(rows)
