"""Home: the production version, counts, the latest runs and links to the MLflow UI."""

import streamlit as st

from dashboard import charts, gateway, layout
from training.errors import FireRiskError
from training.settings import load_settings

settings = load_settings()
uri = settings.tracking_uri
st.title("Corsica fire risk")
st.caption(
    "Models that predict, for each of Corsica's 360 communes, the probability that a fire "
    "starts in the coming days."
)
layout.sidebar()

try:
    state = gateway.cached_registry_state(uri, settings.model_name)
    versions = gateway.cached_versions(uri, settings.model_name)
except FireRiskError as error:
    state, versions = None, ()
    st.info(f"No registered model yet: {layout.escape_markdown(error)}")

st.subheader("Production model")
production = charts.find_version(versions, state.production_version if state else None)
if production is None:
    st.info("No version is in production. Promote one on the Model registry page.")
else:
    promoted = charts.last_promotion_to(state, production.version)
    st.markdown(
        f"**Version {production.version}** · family `{production.model_family or '?'}` · "
        f"horizon {layout.escape_markdown(production.horizon_days or '?')} days · test years "
        f"{layout.escape_markdown(production.test_years or '?')}"
    )
    if promoted is not None:
        st.caption(
            f"Promoted {layout.escape_markdown(promoted.when)} by "
            f"{layout.escape_markdown(promoted.who)}: {layout.escape_markdown(promoted.reason)}"
        )
    elif state.is_legacy:
        st.caption("In the legacy 'Production' stage, with no alias and no recorded promotion.")
    columns = st.columns(3)
    for index, (name, value) in enumerate(production.metrics.items()):
        columns[index % 3].metric(name.removeprefix("test_"), f"{value:.3f}")
    st.link_button("Open in MLflow", gateway.version_url(settings.model_name, production.version))

experiment = gateway.cached_experiment(uri, settings.experiment_name)
left, right = st.columns(2)
left.metric("Registered versions", len(versions))
if experiment is None:
    right.metric("Runs", 0)
    st.info(f"Experiment {settings.experiment_name!r} has no runs yet: run the training first.")
    st.stop()
right.metric("Runs", gateway.cached_run_count(uri, experiment.experiment_id))

st.subheader("Latest runs")
latest = gateway.cached_runs_page(uri, experiment.experiment_id, "", 10, None)
st.dataframe(
    charts.runs_table(latest.runs, links=True),
    hide_index=True,
    column_config={"MLflow": st.column_config.LinkColumn("MLflow", display_text="open")},
)
