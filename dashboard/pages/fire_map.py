"""Risk map: the production model's probability of a fire for every commune on a chosen date."""

import streamlit as st
from streamlit_folium import st_folium

from dashboard import gateway, layout, promotion, risk_map, serving
from training import registry
from training.errors import FireRiskError, RegistryError
from training.predict import valid_date_range
from training.settings import load_settings

settings = load_settings()
uri = settings.tracking_uri
st.title("Fire risk map")
layout.sidebar()
layout.load_style()
st.caption(
    "This map is a statistical model, not an official warning. The official forest fire danger "
    "forecast for Corsica is Météo-France's *Météo des forêts*."
)

try:
    state = gateway.cached_registry_state(uri, settings.model_name)
except RegistryError as error:
    st.info(layout.escape_markdown(error))
    st.stop()
version = state.production_version
if version is None:
    st.info("No version is in production: promote one on the Model registry page.")
    st.stop()
promotion.remember_seen(state)
promotion.show_message()

try:
    dataset = serving.cached_dataset(settings.data_uri)
except FireRiskError as error:
    st.error(f"The data at {settings.data_uri!r} cannot be loaded: {layout.escape_markdown(error)}")
    st.stop()
try:
    loaded = serving.cached_model(uri, settings.model_name, version)
    first, last = valid_date_range(dataset, loaded)
except FireRiskError as error:
    st.error(
        f"Production version {version} cannot be used: {layout.escape_markdown(error)}. "
        "Roll back to the previous version or promote another one."
    )
    if not layout.read_only():
        try:
            target = registry.rollback_target(state)
        except RegistryError:
            target = None
        if target is not None and st.button(f"Roll back to version {target}", key="map_rollback"):
            promotion.open_dialog("rollback", target)
        promotion.render_dialog()
    st.stop()

classes = risk_map.load_danger_classes()
controls, legend = st.columns([3, 1])
date = controls.date_input("Date", value=last, min_value=first, max_value=last, key="map_date")
controls.caption(
    f"Dates from {first:%d %B %Y} to {last:%d %B %Y}: the days for which the data holds every "
    "input this model's features need. It opens on the latest."
)
department = controls.radio("Department", ("both", "2A", "2B"), horizontal=True, key="map_dept")
try:
    predictions = serving.cached_predictions(
        uri, settings.data_uri, settings.model_name, version, date
    )
except FireRiskError as error:
    st.error(f"Version {version} cannot predict {date}: {layout.escape_markdown(error)}")
    st.stop()
classified = risk_map.add_danger_classes(predictions, classes)
shown = risk_map.filter_department(classified, None if department == "both" else department)
legend.html(risk_map.legend_html(classes))
st.markdown(
    f"**{date:%A %d %B %Y}**: probability of at least one fire starting in the next "
    f"{loaded.horizon_days} days · model version {version} (`{loaded.model_family}`)"
)

names = dict(zip(shown["commune_code"], shown["name"], strict=True))
focus = st.selectbox(
    "Find a commune",
    [""] + sorted(names, key=lambda code: names[code]),
    format_func=lambda code: f"{names[code]} ({code})" if code else "",
    key="map_focus",
)
fires = risk_map.fires_in_horizon(dataset.fires, date, loaded.horizon_days)
fires = fires[fires["commune_code"].isin(shown["commune_code"])]
show_fires = st.checkbox(
    "Backtest: show the fires that started in the horizon", value=not fires.empty, key="map_fires"
)
folium_map = risk_map.build_risk_map(
    dataset.communes_geojson,
    shown,
    focus_code=focus or None,
    fires=fires if show_fires else None,
    communes=dataset.communes,
    tiles=settings["DASHBOARD_MAP_TILES"],
)
st_folium(folium_map, returned_objects=[], key="map_folium", height=620, use_container_width=True)

top, summary = st.columns(2)
top.subheader("Ten riskiest communes")
top.dataframe(risk_map.top_communes(shown), hide_index=True)
summary.subheader("Backtest")
if fires.empty:
    summary.caption("No fire record in the horizon of this date (or the date is too recent).")
else:
    summary.dataframe(risk_map.backtest_summary(shown, fires, classes), hide_index=True)
st.download_button(
    "Download all 360 communes (CSV)",
    risk_map.predictions_csv(classified),
    file_name=f"fire-risk-{date:%Y-%m-%d}-v{version}.csv",
    mime="text/csv",
    key="map_download",
)
st.caption(
    "Data sources: fires, Source: BDIFF, bdiff.agriculture.gouv.fr · weather, Météo-France · "
    "rainfall ECA&D (Klein Tank et al. 2002) · commune outlines IGN Admin Express and INSEE."
)
