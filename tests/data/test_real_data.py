"""Checks on the real Corsica files: counts, ranges, known facts, and agreement of sources."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from training.data import load_dataset
from training.data.ecad import load_ecad
from training.data.synop import load_synop
from training.data.weather import ECAD_STATIONS, SYNOP_STATIONS


def test_communes_count_and_types(real_dataset):
    communes = real_dataset.communes
    assert len(communes) == 360
    assert communes["code"].is_unique
    assert communes["code"].is_monotonic_increasing
    assert communes["department"].value_counts().to_dict() == {"2B": 236, "2A": 124}
    assert communes["code"].str.fullmatch(r"2[AB]\d{3}").all()
    assert communes["lon"].between(8.5, 9.6).all()
    assert communes["lat"].between(41.3, 43.1).all()
    assert communes["area_km2"].sum() == pytest.approx(8679.8, abs=1)
    assert communes["population"].sum() == 347_597


def test_neighbours_are_symmetric(real_dataset):
    neighbours = real_dataset.communes.set_index("code")["neighbours"]
    assert (neighbours.map(len) > 0).all()
    for code, others in neighbours.items():
        for other in others:
            assert code in neighbours[other], (code, other)
    assert "2A001" in neighbours["2A004"]  # Afa borders Ajaccio


def test_geojson_matches_table(real_dataset):
    features = real_dataset.communes_geojson["features"]
    codes = [feature["properties"]["code"] for feature in features]
    assert codes == list(real_dataset.communes["code"])
    assert set(features[0]["properties"]) == {"code", "nom"}


def test_fires_counts_and_range(real_dataset):
    fires = real_dataset.fires
    assert len(fires) == 40_863
    assert fires["date"].min() == pd.Timestamp("1973-02-08")
    assert fires["date"].max() == pd.Timestamp("2024-12-26")
    assert fires["alert_time"].is_monotonic_increasing
    assert str(fires["alert_time"].dtype) == "datetime64[ns, Europe/Paris]"
    assert fires.groupby("department").size().to_dict() == {"2A": 18_391, "2B": 22_472}
    assert real_dataset.report["fires"]["rejected"] == {}


def test_fires_known_facts(real_dataset):
    fires = real_dataset.fires
    yearly_area = fires.groupby("year")["area_ha"].sum()
    assert yearly_area.idxmax() == 2003
    assert yearly_area[2003] == pytest.approx(27_355, abs=1)
    with_fire = set(fires["commune_code"])
    assert "2B256" not in with_fire
    assert "2B297" not in with_fire
    assert len(with_fire) == 358
    assert (fires.groupby("year").size()[[1992, 2017, 2024]] == [1918, 637, 230]).all()


def test_weather_stations_and_ranges(real_dataset):
    assert list(real_dataset.stations["station_id"]) == ["20004002", "20148001"]
    report = real_dataset.report["weather"]
    assert report["stations"] == 2
    assert report["first_date"] == "1947-05-01"
    assert report["last_date"] == "2024-02-29"
    assert report["variables"]["rain_mm"]["first_date"] == "1947-05-01"
    assert report["variables"]["rain_mm"]["last_date"] == "2024-02-29"
    for name in ("tx_c", "tn_c", "rh_min_pct", "t12_c", "rh12_pct", "wind12_ms", "wind_max_ms"):
        assert report["variables"][name]["first_date"] == "2004-01-01", name
        assert report["variables"][name]["last_date"] == "2016-10-27", name


def test_weather_one_row_per_station_day(real_dataset):
    weather = real_dataset.weather
    assert not weather.duplicated(["station_id", "date"]).any()
    for station_id, dates in weather.groupby("station_id")["date"]:
        assert (dates.diff().dropna() == pd.Timedelta(days=1)).all(), station_id
    ordered = weather.sort_values(["station_id", "date"])
    assert (ordered.index == weather.index).all()


def test_weather_plausible_values(real_dataset):
    weather = real_dataset.weather
    both = weather.dropna(subset=["tx_c", "tn_c"])
    assert (both["tx_c"] >= both["tn_c"]).all()
    assert weather["rain_mm"].min() >= 0
    assert weather["rh_min_pct"].dropna().between(0, 100).all()
    assert weather["wind_max_ms"].dropna().between(0, 75).all()
    ajaccio = weather.loc[weather["station_id"] == "20004002"].set_index("date")
    assert ajaccio.loc["2009-07-23", "tx_c"] == pytest.approx(40.2)
    assert ajaccio["tx_c"].max() == pytest.approx(40.2)


def test_synop_rain_agrees_with_ecad(shared_data_dir):
    weather_dir = shared_data_dir / "weather"
    synop_path = weather_dir / "synop" / "synop_corsica_2004_2016.csv.gz"
    synop = load_synop([(synop_path, synop_path.name)], SYNOP_STATIONS).days
    ecad_paths = sorted((weather_dir / "ecad").glob("RR_STAID*.txt"))
    ecad = load_ecad([(path, path.name) for path in ecad_paths], ECAD_STATIONS).days
    both = synop.merge(ecad, on=["station_id", "date"], suffixes=("_synop", "_ecad"))
    both = both.dropna(subset=["rain_mm_synop", "rain_mm_ecad"])
    assert len(both) > 8_000
    agreement = ((both["rain_mm_synop"] - both["rain_mm_ecad"]).abs() <= 0.1 + 1e-9).mean()
    assert agreement > 0.80


def test_national_files_give_the_corsica_extract(shared_data_dir, real_dataset, tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(shared_data_dir / "communes", folder / "communes")
    shutil.copytree(shared_data_dir / "extra" / "bdiff-national", folder / "fires")
    dataset = load_dataset(str(folder))
    pd.testing.assert_frame_equal(dataset.fires, real_dataset.fires)
    assert dataset.report["fires"]["rejected"] == {}
    assert sum(entry["rows_read"] for entry in dataset.report["fires"]["files"]) == 140_247


def test_extract_and_national_files_counted_once(shared_data_dir, tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(shared_data_dir / "communes", folder / "communes")
    shutil.copytree(shared_data_dir / "fires", folder / "fires")
    national = shared_data_dir / "extra" / "bdiff-national" / "Incendies_2020_2024.csv.gz"
    shutil.copy(national, folder / "fires")
    dataset = load_dataset(str(folder))
    assert len(dataset.fires) == 40_863
    # Corsican fires of 2020-2024: 287 + 341 + 397 + 332 + 230.
    assert dataset.report["fires"]["duplicates_dropped"] == 1_587
