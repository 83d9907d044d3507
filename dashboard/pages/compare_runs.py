"""Compare runs: server-side filters, paging, up to 100 selected runs, charts and tables."""

import datetime as dt

import streamlit as st

from dashboard import charts, gateway, layout
from training.errors import TrackingError
from training.settings import load_settings

MAX_SELECTED = 100
FAMILIES = ("", "climatology", "logistic_regression", "random_forest", "hist_gradient_boosting")

settings = load_settings()
uri = settings.tracking_uri
st.title("Compare runs")
layout.sidebar()

experiments = gateway.cached_experiments(uri)
if not experiments:
    st.info("The tracking server has no experiment yet: run the training first.")
    st.stop()
names = [experiment.name for experiment in experiments]
default = names.index(settings.experiment_name) if settings.experiment_name in names else 0
chosen = st.selectbox("Experiment", names, index=default, key="compare_experiment")
experiment = experiments[names.index(chosen)]

with st.expander("Filters (applied by the MLflow server)", expanded=False):
    family = st.selectbox(
        "Model family", FAMILIES, format_func=lambda f: f or "any", key="compare_family"
    )
    use_date = st.checkbox("Only runs started on or after a date", key="compare_use_date")
    since = st.date_input(
        "Started on or after",
        dt.date.today() - dt.timedelta(days=30),
        key="compare_since",
        disabled=not use_date,
    )
    metric_filter = st.text_input("Metric threshold: metric name", key="compare_metric")
    metric_min = st.number_input("Minimum value", value=0.0, key="compare_metric_min")
    extra = st.text_input("Extra MLflow filter, e.g. params.C = '1.0'", key="compare_extra")
    page_size = st.selectbox("Runs per page", (50, 100, 500, 1000), index=1, key="compare_size")
filter_string = gateway.build_run_filter(
    family, since if use_date else None, metric_filter.strip(), metric_min, extra
)

# Page tokens of the pages already visited, so "Previous" needs no new request.
paging_key = (experiment.experiment_id, filter_string, page_size)
if st.session_state.get("compare_paging_key") != paging_key:
    st.session_state["compare_paging_key"] = paging_key
    st.session_state["compare_tokens"] = [None]
tokens = st.session_state["compare_tokens"]
try:
    page = gateway.cached_runs_page(
        uri, experiment.experiment_id, filter_string, page_size, tokens[-1]
    )
except TrackingError as error:
    st.error(f"The run search failed: {layout.escape_markdown(error)}")
    st.stop()

st.caption(f"Page {len(tokens)}: {len(page.runs)} runs. Filter: `{filter_string or 'none'}`")
previous, following = st.columns(2)
if previous.button("Previous page", disabled=len(tokens) == 1, key="compare_previous"):
    tokens.pop()
    st.rerun()
if following.button("Next page", disabled=page.next_page_token is None, key="compare_next"):
    tokens.append(page.next_page_token)
    st.rerun()

st.dataframe(charts.runs_table(page.runs), hide_index=True, height=250)
by_id = {run.run_id: run for run in page.runs}
selected_ids = st.multiselect(
    f"Runs to compare (up to {MAX_SELECTED})",
    list(by_id),
    format_func=lambda run_id: by_id[run_id].label,
    max_selections=MAX_SELECTED,
    key="compare_selected",
)
selected = [by_id[run_id] for run_id in selected_ids if run_id in by_id]
if not selected:
    st.info("Select runs above to compare them.")
    st.stop()

metrics = charts.metric_names(selected)
params = charts.param_names(selected)
varying = charts.varying_param_names(selected) or params
if not metrics:
    st.warning("The selected runs have no metrics.")
    st.stop()
metric = st.selectbox("Metric", metrics, key="compare_chart_metric")
st.plotly_chart(charts.metric_bar(selected, metric), key="compare_bar")
chosen_params = st.multiselect(
    "Params for parallel coordinates",
    params,
    default=varying[:4],
    key="compare_params",
)
st.plotly_chart(
    charts.parallel_coordinates(selected, chosen_params, metric), key="compare_parcoords"
)
if params:
    param = st.selectbox(
        "Param for the scatter",
        params,
        index=params.index(varying[0]),
        key="compare_scatter_param",
    )
    st.plotly_chart(charts.param_scatter(selected, param, metric), key="compare_scatter")
history_metric = st.selectbox("Metric history by step", metrics, key="compare_history_metric")
histories = gateway.cached_metric_histories(uri, tuple(selected_ids), history_metric)
st.plotly_chart(charts.history_lines(selected, histories, history_metric), key="compare_history")

st.subheader("Params and metrics")
differences_only = st.toggle("Differences only", key="compare_differences")
st.dataframe(charts.params_metrics_table(selected, differences_only))

st.subheader("Curves and calibration")
shown = selected[:4]
if len(selected) > len(shown):
    st.caption(f"Images of the first {len(shown)} selected runs.")
for column, run in zip(st.columns(len(shown)), shown, strict=False):
    column.caption(layout.escape_markdown(run.label))
    images = gateway.cached_run_images(uri, run.run_id)
    if not images:
        column.caption("no image logged")
    for image in images:
        column.image(image.content, caption=image.path)
