"""Danger classes, the folium map builder and the backtest, on tables and the real outlines."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from dashboard import risk_map

CLASSES = risk_map.load_danger_classes()


def _predictions(codes, probabilities, names=None, department="2A") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "commune_code": codes,
            "name": names or [f"Commune {code}" for code in codes],
            "department": department,
            "probability": probabilities,
        }
    )


def test_danger_classes_file_is_ordered():
    assert [danger.name for danger in CLASSES] == ["low", "moderate", "high", "very_high"]
    assert [danger.min_probability for danger in CLASSES] == [0.0, 0.05, 0.15, 0.30]


@pytest.mark.parametrize(
    ("probability", "expected"),
    [
        (0.0, "low"),
        (0.0499, "low"),
        (0.05, "moderate"),
        (0.1499, "moderate"),
        (0.15, "high"),
        (0.30, "very_high"),
        (1.0, "very_high"),
    ],
)
def test_classify_thresholds(probability, expected):
    assert risk_map.classify([probability], CLASSES)[0].name == expected


def test_danger_classes_reject_unordered(tmp_path):
    path = tmp_path / "classes.json"
    entries = [
        {"name": "a", "label": "A", "color": "#000", "min_probability": 0.0},
        {"name": "b", "label": "B", "color": "#111", "min_probability": 0.0},
    ]
    path.write_text(json.dumps({"classes": entries}))

    with pytest.raises(ValueError, match="must start at 0 and increase strictly"):
        risk_map.load_danger_classes(path)


def test_top_communes_sorted_and_limited():
    codes = [f"2A{index:03d}" for index in range(15)]
    classified = risk_map.add_danger_classes(
        _predictions(codes, [index / 20 for index in range(15)]), CLASSES
    )

    top = risk_map.top_communes(classified)

    assert len(top) == 10
    assert top["commune_code"].iloc[0] == "2A014"
    assert top["probability"].is_monotonic_decreasing


def test_fires_in_horizon_window():
    fires = pd.DataFrame(
        {
            "date": pd.to_datetime(["2010-08-10", "2010-08-11", "2010-08-17", "2010-08-18"]),
            "commune_code": ["2A004"] * 4,
            "area_ha": [1.0, 2.0, 3.0, 4.0],
        }
    )

    window = risk_map.fires_in_horizon(fires, dt.date(2010, 8, 10), 7)

    assert list(window["area_ha"]) == [2.0, 3.0]


def test_backtest_summary_counts_per_class():
    classified = risk_map.add_danger_classes(
        _predictions(["2A001", "2A002", "2A003"], [0.01, 0.2, 0.5]), CLASSES
    )
    fires = pd.DataFrame({"commune_code": ["2A002", "2A002", "2A003"], "area_ha": [1.0, 2.0, 5.0]})

    summary = risk_map.backtest_summary(classified, fires, CLASSES).set_index("class")

    assert summary.loc["Low", "fires"] == 0
    assert summary.loc["High", "fires"] == 2
    assert summary.loc["High", "burned_ha"] == 3.0
    assert summary.loc["Very high", "communes_with_fire"] == 1
    assert summary["communes"].sum() == 3


def test_legend_states_thresholds():
    legend = risk_map.legend_html(CLASSES)

    assert "Low: 0% to 5%" in legend
    assert "Very high: 30% or more" in legend
    assert legend.count("fire-legend-swatch") == 4


def test_map_escapes_commune_names(real_dataset):
    communes = real_dataset.communes
    predictions = _predictions(
        list(communes["code"]),
        [0.1] * len(communes),
        names=["<script>alert(1)</script>"] * len(communes),
    )
    classified = risk_map.add_danger_classes(predictions, CLASSES)

    html_text = (
        risk_map.build_risk_map(real_dataset.communes_geojson, classified, tiles="none")
        .get_root()
        .render()
    )

    assert "<script>alert(1)</script>" not in html_text
    # folium writes the GeoJSON with "&" as \u0026, so the escaped name reads like this.
    assert "\\u0026lt;script\\u0026gt;alert(1)" in html_text


def test_map_has_every_commune(real_dataset):
    communes = real_dataset.communes
    classified = risk_map.add_danger_classes(
        _predictions(list(communes["code"]), [0.2] * len(communes)), CLASSES
    )

    features = risk_map.map_features(real_dataset.communes_geojson, classified)
    folium_map = risk_map.build_risk_map(real_dataset.communes_geojson, classified, tiles="none")

    assert len(features["features"]) == 360
    assert {f["properties"]["color"] for f in features["features"]} == {"#f28c0f"}
    assert folium_map.default_js == [risk_map.LEAFLET_JS]
    assert "tile.openstreetmap.org" not in folium_map.get_root().render()


def test_map_department_filter_keeps_polygons(real_dataset):
    communes = real_dataset.communes
    predictions = pd.DataFrame(
        {
            "commune_code": communes["code"],
            "name": communes["name"],
            "department": communes["department"],
            "probability": 0.01,
        }
    )
    classified = risk_map.add_danger_classes(predictions, CLASSES)

    south = risk_map.filter_department(classified, "2A")
    features = risk_map.map_features(real_dataset.communes_geojson, south)

    assert len(features["features"]) == 124


def test_commune_bounds_of_ajaccio(real_dataset):
    bounds = risk_map.commune_bounds(real_dataset.communes_geojson, "2A004")

    (south, west), (north, east) = bounds
    assert 41.8 < south < north < 42.1
    assert 8.5 < west < east < 8.9
    assert risk_map.commune_bounds(real_dataset.communes_geojson, "9Z999") is None


def test_predictions_csv_has_all_rows():
    classified = risk_map.add_danger_classes(_predictions(["2A001", "2B002"], [0.01, 0.4]), CLASSES)

    lines = risk_map.predictions_csv(classified).decode().splitlines()

    assert lines[0] == "commune_code,name,department,probability,danger_class"
    assert lines[2].startswith("2B002,")
    assert lines[2].endswith(",very_high")
