"""Commune outlines and population: neighbours, centroids, areas, rejections and errors."""

from __future__ import annotations

import json
import math

import pytest

from tests.data.builders import write_communes, write_text_file
from training.data.communes import load_communes
from training.errors import DataError

POPULATION_HEADER = (
    "insee_com,insee_reg,insee_dep,commune,commune_article,code_postal,commune_type,"
    "insee_parente,lat,lng,superficie_km2,population_2021,population_2015"
)


def _load(folder, population=None):
    outlines = folder / "communes" / "communes-corse.geojson"
    if not outlines.exists():
        write_communes(folder)
    return load_communes(outlines, "communes.geojson", population, "population.csv")


def test_table_columns_and_order(tmp_path):
    communes = _load(tmp_path)
    table = communes.table
    assert list(table["code"]) == ["2A001", "2A004", "2B002"]
    assert list(table["department"]) == ["2A", "2A", "2B"]
    assert table["lon"].iloc[0] == pytest.approx(8.805)
    assert table["lat"].iloc[0] == pytest.approx(41.905)
    assert table["population"].isna().all()
    assert communes.report["count"] == 3
    assert communes.report["area_source"] == "outline estimate"


def test_neighbours_share_a_border(tmp_path):
    table = _load(tmp_path).table.set_index("code")
    assert table.loc["2A001", "neighbours"] == ("2A004",)
    assert table.loc["2A004", "neighbours"] == ("2A001",)
    assert table.loc["2B002", "neighbours"] == ()


def test_outline_area_estimate(tmp_path):
    # A 0.01° square at 41.9° N is about 1.112 km by 0.827 km.
    area = _load(tmp_path).table["area_km2"].iloc[0]
    expected = 111.2 * 0.01 * 111.2 * 0.01 * math.cos(math.radians(41.905))
    assert area == pytest.approx(expected, rel=1e-3)


def test_population_file_fills_population_and_area(tmp_path):
    rows = [
        "2A001,94,2A,Afa,Afa,20167,COM,,41.98,8.79,11.84,3336,3090",
        "2A004,94,2A,Ajaccio,Ajaccio,20000,COM,,41.92,8.70,82.03,73822,68462",
        "2A004,94,2A,Ajaccio,Ajaccio,20090,COM,,41.92,8.70,82.03,73822,68462",
        "2A999,94,2A,Nowhere,Nowhere,20000,COM,,41.92,8.70,1.0,10,10",
    ]
    population = write_text_file(tmp_path / "population.csv", "\n".join([POPULATION_HEADER, *rows]))
    communes = _load(tmp_path, population)
    table = communes.table.set_index("code")
    assert table.loc["2A004", "population"] == 73822
    assert table.loc["2A004", "area_km2"] == 82.03
    assert math.isnan(table.loc["2B002", "population"])
    assert communes.report["with_population"] == 2
    assert communes.report["rejected"] == {"population_unknown_commune": 1}


def test_population_missing_column_raises(tmp_path):
    population = write_text_file(tmp_path / "population.csv", "insee_com,lat\n2A001,41.9\n")
    with pytest.raises(DataError, match=r"population\.csv: missing column\(s\) 'superficie_km2'"):
        _load(tmp_path, population)


def test_invalid_and_duplicate_codes_rejected(tmp_path):
    path = write_communes(tmp_path)
    document = json.loads(path.read_text())
    extra = dict(document["features"][0], properties={"code": "13001", "nom": "Marseille"})
    duplicate = document["features"][1]
    document["features"] += [extra, duplicate]
    path.write_text(json.dumps(document))
    communes = _load(tmp_path)
    assert communes.report["count"] == 3
    assert communes.report["rejected"] == {"duplicate_code": 1, "invalid_code": 1}


def test_invalid_json_raises(tmp_path):
    path = write_text_file(tmp_path / "communes" / "communes-corse.geojson", '{"type": ')
    with pytest.raises(DataError, match=r"communes\.geojson: invalid JSON"):
        load_communes(path, "communes.geojson", None, "")


def test_not_a_feature_collection_raises(tmp_path):
    path = write_text_file(tmp_path / "communes" / "communes-corse.geojson", '{"type": "Point"}')
    with pytest.raises(DataError, match=r"expected a GeoJSON FeatureCollection"):
        load_communes(path, "communes.geojson", None, "")


def test_missing_outlines_raises(tmp_path):
    with pytest.raises(DataError, match=r"communes\.geojson: file not found"):
        load_communes(tmp_path / "none.geojson", "communes.geojson", None, "")
