"""Danger classes and the folium risk map, as pure functions of predictions and data frames.

Every text that comes from the data (commune names, codes) is HTML-escaped before it reaches
folium, because folium renders tooltip fields as HTML.
"""

from __future__ import annotations

import copy
import datetime as dt
import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import folium
import numpy as np
import pandas as pd
from shapely.geometry import shape

DANGER_CLASSES_FILE = Path(__file__).resolve().parents[1] / "assets" / "danger_classes.json"
CORSICA_CENTER = (42.15, 9.1)
NO_DATA_COLOR = "#bdbdbd"
# Leaflet 1.9.4 is served by the dashboard itself (dashboard/static, Streamlit's static file
# serving) so that the map needs no CDN. NOTE: absolute paths break under server.baseUrlPath.
LEAFLET_JS = ("leaflet", "/app/static/leaflet/leaflet.js")
LEAFLET_CSS = ("leaflet_css", "/app/static/leaflet/leaflet.css")
PREDICTION_COLUMNS = ("commune_code", "name", "department", "probability")


@dataclass(frozen=True)
class DangerClass:
    name: str
    label: str
    color: str
    min_probability: float


def load_danger_classes(path: Path = DANGER_CLASSES_FILE) -> tuple[DangerClass, ...]:
    """Read the classes, checking that thresholds start at 0 and increase strictly."""
    entries = json.loads(Path(path).read_text())["classes"]
    classes = tuple(
        DangerClass(e["name"], e["label"], e["color"], float(e["min_probability"])) for e in entries
    )
    thresholds = [danger.min_probability for danger in classes]
    if (
        not classes
        or thresholds[0] != 0.0
        or any(b <= a for a, b in zip(thresholds, thresholds[1:], strict=False))
    ):
        raise ValueError(
            f"{path}: min_probability values {thresholds!r} are invalid: they must start at 0 and "
            "increase strictly"
        )
    return classes


def classify(
    probabilities: Sequence[float] | np.ndarray, classes: Sequence[DangerClass]
) -> list[DangerClass]:
    """Map each probability to its class: the last class whose threshold it reaches."""
    thresholds = np.array([danger.min_probability for danger in classes])
    values = np.asarray(probabilities, dtype=float)
    positions = np.searchsorted(thresholds, values, side="right") - 1
    return [classes[int(position)] for position in np.clip(positions, 0, len(classes) - 1)]


def add_danger_classes(predictions: pd.DataFrame, classes: Sequence[DangerClass]) -> pd.DataFrame:
    """Return a copy of the predictions with danger_class, danger_label and color columns."""
    missing = [column for column in PREDICTION_COLUMNS if column not in predictions.columns]
    if missing:
        raise ValueError(f"predictions lack columns {missing!r}; expected {PREDICTION_COLUMNS!r}")
    result = predictions.copy()
    assigned = classify(result["probability"].to_numpy(), classes)
    result["danger_class"] = [danger.name for danger in assigned]
    result["danger_label"] = [danger.label for danger in assigned]
    result["color"] = [danger.color for danger in assigned]
    return result


def filter_department(frame: pd.DataFrame, department: str | None) -> pd.DataFrame:
    """Keep the rows of one department ("2A" or "2B"); None or "" keeps every row."""
    if not department:
        return frame
    return frame[frame["department"] == department]


def top_communes(classified: pd.DataFrame, count: int = 10) -> pd.DataFrame:
    """Return the `count` communes with the highest probability, highest first."""
    columns = ["commune_code", "name", "department", "probability", "danger_label"]
    ordered = classified.sort_values(["probability", "commune_code"], ascending=[False, True])
    return ordered[columns].head(count).reset_index(drop=True)


def predictions_csv(classified: pd.DataFrame) -> bytes:
    """CSV of every commune with its probability and class, for the download button."""
    columns = ["commune_code", "name", "department", "probability", "danger_class"]
    return classified[columns].to_csv(index=False).encode("utf-8")


def fires_in_horizon(fires: pd.DataFrame, date: dt.date, horizon_days: int) -> pd.DataFrame:
    """Fires that started on days D+1 to D+horizon_days, the window the model predicts."""
    start = pd.Timestamp(date) + pd.Timedelta(days=1)
    end = pd.Timestamp(date) + pd.Timedelta(days=horizon_days)
    return fires[(fires["date"] >= start) & (fires["date"] <= end)]


def backtest_summary(
    classified: pd.DataFrame, fires: pd.DataFrame, classes: Sequence[DangerClass]
) -> pd.DataFrame:
    """Count, per danger class, the communes and the fires that started in them."""
    fires_per_commune = fires.groupby("commune_code").agg(
        fires=("commune_code", "size"), burned_ha=("area_ha", "sum")
    )
    joined = classified.join(fires_per_commune, on="commune_code")
    joined[["fires", "burned_ha"]] = joined[["fires", "burned_ha"]].fillna(0)
    rows = []
    for danger in classes:
        members = joined[joined["danger_class"] == danger.name]
        rows.append(
            {
                "class": danger.label,
                "communes": len(members),
                "communes_with_fire": int((members["fires"] > 0).sum()),
                "fires": int(members["fires"].sum()),
                "burned_ha": float(members["burned_ha"].sum()),
            }
        )
    return pd.DataFrame(rows)


def legend_html(classes: Sequence[DangerClass]) -> str:
    """HTML legend with each class colour and its probability range (text we write ourselves)."""
    rows = []
    for index, danger in enumerate(classes):
        upper = classes[index + 1].min_probability if index + 1 < len(classes) else None
        bounds = (
            f"{danger.min_probability:.0%} to {upper:.0%}"
            if upper is not None
            else f"{danger.min_probability:.0%} or more"
        )
        rows.append(
            '<div class="fire-legend-row">'
            f'<span class="fire-legend-swatch" style="background:{danger.color}"></span>'
            f"<span>{html.escape(danger.label)}: {bounds}</span></div>"
        )
    return '<div class="fire-legend">' + "".join(rows) + "</div>"


def _feature_properties(row: pd.Series | None, code: str, name: str) -> dict[str, str]:
    if row is None:
        return {
            "commune": html.escape(name),
            "code": html.escape(code),
            "probability": "no prediction",
            "danger": "",
            "color": NO_DATA_COLOR,
        }
    return {
        "commune": html.escape(str(row["name"])),
        "code": html.escape(code),
        "probability": f"{float(row['probability']):.1%}",
        "danger": html.escape(str(row["danger_label"])),
        "color": str(row["color"]),
    }


def map_features(geojson: dict[str, Any], classified: pd.DataFrame) -> dict[str, Any]:
    """Copy the communes' FeatureCollection with escaped tooltip fields and class colours.

    Only communes present in `classified` are kept, so a department filter on the predictions
    also filters the polygons.
    """
    by_code = classified.set_index("commune_code")
    features = []
    for feature in geojson["features"]:
        code = str(feature["properties"].get("code", ""))
        if code not in by_code.index:
            continue
        kept = copy.copy(feature)
        name = str(feature["properties"].get("nom", ""))
        kept["properties"] = _feature_properties(by_code.loc[code], code, name)
        features.append(kept)
    return {"type": "FeatureCollection", "features": features}


def commune_bounds(geojson: dict[str, Any], code: str) -> list[list[float]] | None:
    """Return [[south, west], [north, east]] of one commune, or None for an unknown code."""
    for feature in geojson["features"]:
        if str(feature["properties"].get("code")) == code:
            west, south, east, north = shape(feature["geometry"]).bounds
            return [[south, west], [north, east]]
    return None


def _style(feature: dict[str, Any]) -> dict[str, Any]:
    return {
        "fillColor": feature["properties"]["color"],
        "color": "#444444",
        "weight": 0.5,
        "fillOpacity": 0.75,
    }


def _add_fire_markers(folium_map: folium.Map, fires: pd.DataFrame, communes: pd.DataFrame) -> None:
    """Add one circle per fire at its commune's centroid, its area proportional to burned ha."""
    positions = communes.set_index("code")[["lat", "lon"]]
    layer = folium.FeatureGroup(name="Fires that started in the horizon")
    for fire in fires.itertuples(index=False):
        if fire.commune_code not in positions.index:
            continue
        lat, lon = positions.loc[fire.commune_code]
        area = float(fire.area_ha) if pd.notna(fire.area_ha) else 0.0
        folium.CircleMarker(
            location=(float(lat), float(lon)),
            radius=3 + 2 * math.sqrt(max(area, 0.0)),
            color="#111111",
            weight=1,
            fill=True,
            fill_color="#111111",
            fill_opacity=0.5,
            tooltip=html.escape(
                f"Fire {fire.number} on {pd.Timestamp(fire.date):%Y-%m-%d}, "
                f"commune {fire.commune_code}, {area:.1f} ha"
            ),
        ).add_to(layer)
    layer.add_to(folium_map)


def build_risk_map(
    geojson: dict[str, Any],
    classified: pd.DataFrame,
    focus_code: str | None = None,
    fires: pd.DataFrame | None = None,
    communes: pd.DataFrame | None = None,
    tiles: str | None = "OpenStreetMap",
) -> folium.Map:
    """Build the folium map: commune polygons filled with their class colour and a tooltip.

    `focus_code` zooms to one commune. `fires` with `communes` adds one marker per fire.
    `tiles` None or "none" draws no base map, so the browser contacts no tile server.
    """
    use_tiles = None if tiles is None or tiles.lower() == "none" else tiles
    # Scroll-wheel zoom is off so that scrolling the page over the map does not zoom it.
    folium_map = folium.Map(
        location=CORSICA_CENTER, zoom_start=8, tiles=use_tiles, scrollWheelZoom=False
    )
    # Only Leaflet is needed: the other defaults (jQuery, Bootstrap, icons) serve markers
    # and controls this map does not use.
    folium_map.default_js = [LEAFLET_JS]
    folium_map.default_css = [LEAFLET_CSS]
    layer = folium.GeoJson(
        map_features(geojson, classified),
        name="Danger class",
        style_function=_style,
        highlight_function=lambda _feature: {"weight": 2, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(
            fields=["commune", "code", "probability", "danger"],
            aliases=["Commune", "INSEE code", "Probability", "Danger class"],
            sticky=True,
        ),
    )
    layer.add_to(folium_map)
    if fires is not None and communes is not None and not fires.empty:
        _add_fire_markers(folium_map, fires, communes)
    bounds = commune_bounds(geojson, focus_code) if focus_code else None
    folium_map.fit_bounds(bounds or layer.get_bounds())
    return folium_map
