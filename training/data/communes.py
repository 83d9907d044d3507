"""Commune outlines (GeoJSON, WGS84) and the optional INSEE population table."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from training.data.report import Rejections
from training.data.textfiles import decode_text, parse_table, read_bytes, require_columns, to_number
from training.errors import DataError

# Corsican INSEE commune codes: department 2A or 2B, then three digits. They are strings.
COMMUNE_CODE = re.compile(r"^2[AB]\d{3}$")

# Two communes whose outlines are closer than this (in degrees, about 10 m) are neighbours.
# The outlines were simplified, so shared borders may not coincide exactly.
NEIGHBOUR_TOLERANCE_DEG = 1e-4

_KM_PER_DEGREE_LAT = 111.2
_POPULATION_COLUMNS = ("insee_com", "superficie_km2", "population_2021")


@dataclass(frozen=True)
class Communes:
    """The communes table, the GeoJSON for maps and the check report of both files."""

    table: pd.DataFrame
    geojson: dict[str, Any]
    report: dict[str, Any]


def load_communes(
    outlines: Path, outlines_name: str, population: Path | None, population_name: str
) -> Communes:
    """Load the commune outlines and, when the file is given, their population and area.

    The area comes from the INSEE table when present, because the outlines are simplified.
    Without it, the area is estimated from the outline with a local equirectangular projection.
    """
    rejections = Rejections("communes")
    features = _read_features(outlines, outlines_name)
    kept = _validate_features(features, rejections)
    if not kept:
        raise DataError(
            f"{outlines_name}: no commune with a valid code and outline; check the file."
        )
    kept.sort(key=lambda feature: feature["properties"]["code"])
    geometries = [shapely.make_valid(shapely.geometry.shape(f["geometry"])) for f in kept]
    table = _build_table(kept, geometries)
    table["neighbours"] = _neighbours(table["code"].tolist(), geometries)
    area_source = "outline estimate"
    if population is not None:
        _add_population(table, population, population_name, rejections)
        area_source = "population file"
    geojson = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": f["properties"]["code"], "nom": f["properties"]["nom"]},
                "geometry": f["geometry"],
            }
            for f in kept
        ],
    }
    report = {
        "count": len(table),
        "departments": table["department"].value_counts().sort_index().to_dict(),
        "with_population": int(table["population"].notna().sum()),
        "area_source": area_source,
        "rejected": rejections.as_dict(),
    }
    return Communes(table=table, geojson=geojson, report=report)


def _read_features(path: Path, name: str) -> list[dict[str, Any]]:
    text = decode_text(read_bytes(path, name), name)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"{name}: invalid JSON ({error}); download the file again.") from None
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise DataError(
            f"{name}: expected a GeoJSON FeatureCollection with a 'features' list; "
            "download the commune outlines again."
        )
    return features


def _validate_features(features: list[Any], rejections: Rejections) -> list[dict[str, Any]]:
    kept: dict[str, dict[str, Any]] = {}
    for feature in features:
        if not isinstance(feature, dict):
            rejections.count("invalid_feature", 1)
            continue
        properties = feature.get("properties") or {}
        code = str(properties.get("code", "")).strip()
        if not COMMUNE_CODE.match(code):
            rejections.count("invalid_code", 1)
            continue
        if not isinstance(feature.get("geometry"), dict):
            rejections.count("missing_geometry", 1)
            continue
        if code in kept:
            rejections.count("duplicate_code", 1)
            continue
        kept[code] = {
            "properties": {"code": code, "nom": str(properties.get("nom", code))},
            "geometry": feature["geometry"],
        }
    return list(kept.values())


def _build_table(features: list[dict[str, Any]], geometries: list[Any]) -> pd.DataFrame:
    centroids = shapely.centroid(np.asarray(geometries, dtype=object))
    codes = [f["properties"]["code"] for f in features]
    return pd.DataFrame(
        {
            "code": pd.Series(codes, dtype="str"),
            "name": pd.Series([f["properties"]["nom"] for f in features], dtype="str"),
            "department": pd.Series([code[:2] for code in codes], dtype="str"),
            "lon": shapely.get_x(centroids).astype("float64"),
            "lat": shapely.get_y(centroids).astype("float64"),
            "area_km2": [_estimate_area_km2(geometry) for geometry in geometries],
            "population": np.full(len(codes), np.nan),
        }
    )


def _estimate_area_km2(geometry: Any) -> float:
    """Estimate the area in km² by scaling degrees at the outline's own latitude."""
    latitude = shapely.get_y(shapely.centroid(geometry))
    km_per_degree_lon = _KM_PER_DEGREE_LAT * math.cos(math.radians(latitude))
    return float(shapely.area(geometry) * _KM_PER_DEGREE_LAT * km_per_degree_lon)


def _neighbours(codes: list[str], geometries: list[Any]) -> list[tuple[str, ...]]:
    tree = shapely.STRtree(geometries)
    pairs = tree.query(geometries, predicate="dwithin", distance=NEIGHBOUR_TOLERANCE_DEG)
    found: list[set[str]] = [set() for _ in codes]
    for left, right in zip(pairs[0], pairs[1], strict=True):
        if left != right:
            found[left].add(codes[right])
    return [tuple(sorted(names)) for names in found]


def _add_population(table: pd.DataFrame, path: Path, name: str, rejections: Rejections) -> None:
    raw = parse_table(decode_text(read_bytes(path, name), name), ",", name)
    require_columns(raw, _POPULATION_COLUMNS, name)
    # The INSEE table has one row per postal code, and every other column repeats.
    raw = raw.drop_duplicates(subset="insee_com")
    raw = raw.set_index(raw["insee_com"].str.strip())
    known = table["code"].isin(raw.index)
    rejections.count("population_unknown_commune", int((~raw.index.isin(table["code"])).sum()))
    population = to_number(raw["population_2021"])
    area = to_number(raw["superficie_km2"])
    rows = table.loc[known, "code"]
    table.loc[known, "population"] = population.reindex(rows).to_numpy()
    official_area = area.reindex(rows).to_numpy()
    table.loc[known, "area_km2"] = np.where(
        official_area > 0, official_area, table.loc[known, "area_km2"]
    )
