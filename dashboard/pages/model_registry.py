"""Model registry: every version, champion against challenger, promotion, rollback, audit."""

import streamlit as st

from dashboard import charts, gateway, layout, promotion
from training import registry
from training.errors import RegistryError
from training.settings import load_settings

settings = load_settings()
uri = settings.tracking_uri
st.title("Model registry")
layout.sidebar()

try:
    state = gateway.cached_registry_state(uri, settings.model_name)
    versions = gateway.cached_versions(uri, settings.model_name)
except RegistryError as error:
    st.info(layout.escape_markdown(error))
    st.stop()
promotion.remember_seen(state)
promotion.show_message()

if state.is_legacy:
    st.warning(
        f"Version {state.legacy_production_version} is in the legacy 'Production' stage and no "
        f"'{state.alias}' alias is set. Promoting a version sets the alias."
    )
st.subheader(f"Versions of {settings.model_name}")
st.dataframe(charts.versions_table(versions), hide_index=True)

st.subheader("Champion against challenger")
production = charts.find_version(versions, state.production_version)
candidates = [version.version for version in versions if version.version != state.alias_version]
if not candidates:
    st.info("No other version to compare with production.")
else:
    chosen = st.selectbox("Challenger version", candidates, key="registry_candidate")
    comparison = registry.compare_versions(charts.find_version(versions, chosen), production)
    if production is None:
        st.info("No version is in production: the challenger can be promoted without comparison.")
    else:
        st.dataframe(charts.comparison_table(comparison), hide_index=True)
        if not comparison.comparable:
            st.warning("Not comparable: the two versions were tested on other years or horizons.")
        for problem in comparison.problems:
            st.caption(f"Guard: {layout.escape_markdown(problem)}")
    if not layout.read_only():
        if st.button(
            f"Promote version {chosen} to production", type="primary", key="registry_promote"
        ):
            promotion.open_dialog("promote", chosen)

if not layout.read_only():
    try:
        target = registry.rollback_target(state)
    except RegistryError:
        target = None
    left, right = st.columns(2)
    if target is not None and left.button(
        f"Roll back to version {target}", key="registry_rollback"
    ):
        promotion.open_dialog("rollback", target)
    if right.button("Reload from the server", key="registry_reload"):
        promotion.forget_seen()
        st.rerun()

st.subheader("Promotion history")
if state.history:
    st.dataframe(charts.audit_table(state), hide_index=True)
else:
    st.caption("No promotion recorded yet.")

if not layout.read_only():
    promotion.render_dialog()
