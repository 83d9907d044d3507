"""Feature builder and labels on the synthetic world, with hand-computed values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tests.training.world import AJACCIO, BASTIA, make_world
from training import features
from training.errors import FeatureError


@pytest.fixture
def world():
    return make_world()


def value(frame: pd.DataFrame, date: str, commune: str, column: str) -> float:
    row = frame[(frame["date"] == pd.Timestamp(date)) & (frame["commune_code"] == commune)]
    assert len(row) == 1, f"expected one row for {date} {commune}"
    return float(row[column].iloc[0])


def test_build_features_row_layout(world):
    frame = features.build_features(world, ["2021-06-11", "2021-06-10"], None)
    assert list(frame.columns[:2]) == ["date", "commune_code"]
    assert list(frame.columns[2:]) == features.feature_columns(features.FEATURE_GROUPS)
    assert len(frame) == 2 * 4
    assert frame["date"].is_monotonic_increasing
    assert frame["commune_code"].tolist()[:4] == ["2A001", "2A002", "2B001", "2B002"]
    assert all(frame[column].dtype == np.float32 for column in frame.columns[2:])


@pytest.mark.parametrize(
    ("date", "commune", "column", "expected"),
    [
        # Fires in the commune over the window ending on D, D included.
        ("2021-06-09", "2A001", "fires_7d", 0),
        ("2021-06-10", "2A001", "fires_7d", 2),
        ("2021-06-16", "2A001", "fires_7d", 2),
        ("2021-06-17", "2A001", "fires_7d", 0),
        ("2021-06-17", "2A001", "fires_30d", 2),
        ("2021-06-10", "2A001", "fires_365d", 2),
        ("2021-02-28", "2A001", "fires_365d", 1),
        ("2021-03-01", "2A001", "fires_365d", 0),
        # Neighbours of 2A002 are 2A001 and 2B001; of 2B002 only 2B001.
        ("2021-06-12", "2A002", "neighbour_fires_7d", 3),
        ("2021-06-12", "2B002", "neighbour_fires_7d", 1),
        ("2021-06-12", "2A001", "neighbour_fires_7d", 0),
        ("2021-06-20", "2B001", "neighbour_fires_30d", 1),
    ],
)
def test_recent_fire_features(world, date, commune, column, expected):
    frame = features.build_features(world, [date], ["recent_fires"])
    assert value(frame, date, commune, column) == expected


@pytest.mark.parametrize(
    ("date", "column", "expected"),
    [
        # Rain of day D is not known at the end of D: 2021-05-05's 5 mm counts from 05-06.
        ("2021-05-05", "rain_7d_mm", 2.0),
        ("2021-05-06", "rain_7d_mm", 7.0),
        ("2021-05-08", "rain_7d_mm", 7.0),
        ("2021-05-09", "rain_7d_mm", 5.0),
        ("2021-05-13", "rain_7d_mm", 0.0),
        ("2021-05-31", "rain_30d_mm", 7.5),
        ("2021-05-02", "days_since_rain", 1),
        ("2021-05-05", "days_since_rain", 4),
        ("2021-05-06", "days_since_rain", 1),
        ("2021-05-08", "days_since_rain", 3),
        # 0.5 mm on 2021-05-20 is below the 1 mm wet-day threshold.
        ("2021-05-22", "days_since_rain", 17),
    ],
)
def test_rain_features(world, date, column, expected):
    frame = features.build_features(world, [date], ["rain"])
    for commune in ("2A001", "2B002"):
        assert value(frame, date, commune, column) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("column", "ajaccio", "bastia"),
    [
        ("rh_min_pct", 40.0, 60.0),
        ("rh12_pct", 50.0, 70.0),
        ("wind_max_ms", 8.0, 6.0),
        ("wind12_ms", 5.0, 3.0),
        ("rh_min_min_7d_pct", 40.0, 60.0),
        ("wind_max_max_7d_ms", 8.0, 6.0),
    ],
)
def test_weather_features_at_stations(world, column, ajaccio, bastia):
    frame = features.build_features(world, ["2021-07-01"], ["heat_humidity_wind"])
    # The communes on a station get its value; weights of the far station are ~1e-4.
    assert value(frame, "2021-07-01", "2A001", column) == pytest.approx(ajaccio, abs=0.02)
    assert value(frame, "2021-07-01", "2B002", column) == pytest.approx(bastia, abs=0.02)
    middle = value(frame, "2021-07-01", "2A002", column)
    assert min(ajaccio, bastia) < middle < max(ajaccio, bastia)


def test_heat_features_use_day_and_past_week(world):
    world.weather.loc[world.weather["date"] == pd.Timestamp("2021-06-28"), "tx_c"] = 45.0
    frame = features.build_features(world, ["2021-07-04", "2021-07-05"], ["heat_humidity_wind"])
    day_index = (pd.Timestamp("2021-07-04") - pd.Timestamp("2020-01-01")).days
    assert value(frame, "2021-07-04", "2B002", "tx_c") == pytest.approx(10 + 0.01 * day_index, 0.01)
    assert value(frame, "2021-07-04", "2B002", "tx_max_7d_c") == pytest.approx(45.0)
    # 2021-06-28 left the 7-day window of 2021-07-05.
    assert value(frame, "2021-07-05", "2B002", "tx_max_7d_c") < 20.0


def test_interpolation_skips_missing_station():
    weights = np.array([[1.0, 3.0], [2.0, 2.0]])
    values = np.array([[10.0, 20.0], [10.0, np.nan], [np.nan, np.nan]])
    result = features.interpolate_to_communes(values, weights)
    assert result[0].tolist() == [17.5, 15.0]
    assert result[1].tolist() == [10.0, 10.0]
    assert np.isnan(result[2]).all()


def test_weather_missing_at_one_station(world):
    day = pd.Timestamp("2021-07-01")
    missing = (world.weather["date"] == day) & (world.weather["station_id"] == BASTIA)
    world.weather.loc[missing, "tx_c"] = np.nan
    frame = features.build_features(world, [day], ["heat_humidity_wind"])
    ajaccio_tx = world.weather.loc[
        (world.weather["date"] == day) & (world.weather["station_id"] == AJACCIO), "tx_c"
    ].iloc[0]
    assert np.allclose(frame["tx_c"], ajaccio_tx)


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("area_km2", [10.0, 20.0, 5.0, 40.0]),
        ("population_density", [100.0, 5.0, np.nan, 100.0]),
        ("lat", [41.918, 42.1, 42.4, 42.540667]),
    ],
)
def test_commune_features(world, column, expected):
    frame = features.build_features(world, ["2021-01-01"], ["commune"])
    np.testing.assert_allclose(frame[column], expected, rtol=1e-5)


def test_season_features(world):
    frame = features.build_features(world, ["2021-01-01", "2021-07-02"], ["season"])
    first = frame.iloc[0]
    assert first["month"] == 1
    assert first["day_of_year_sin"] == pytest.approx(0.0)
    assert first["day_of_year_cos"] == pytest.approx(1.0)
    assert value(frame, "2021-07-02", "2B001", "day_of_year_cos") == pytest.approx(-1.0, abs=1e-3)


def test_labels_count_next_days_only(world):
    labels = features.build_labels(world, pd.date_range("2021-06-02", "2021-06-10"), 7)
    alpha = labels[labels["commune_code"] == "2A001"].set_index("date")
    # Fires of 2021-06-10 fall in the horizon of 06-03 .. 06-09, not of 06-02 or 06-10.
    assert alpha.loc["2021-06-02", "label"] == 0
    assert alpha.loc["2021-06-03", "label"] == 1
    assert alpha.loc["2021-06-03", "fires_next_h"] == 2
    assert alpha.loc["2021-06-09", "label"] == 1
    assert alpha.loc["2021-06-10", "label"] == 0


def test_labels_horizon_changes_window(world):
    labels = features.build_labels(world, ["2021-06-09"], 1)
    assert labels.set_index("commune_code")["label"].to_dict() == {
        "2A001": 1,
        "2A002": 0,
        "2B001": 0,
        "2B002": 0,
    }


def test_labels_past_fire_data_rejected(world):
    with pytest.raises(FeatureError, match="need fire records up to 2022-03-02"):
        features.build_labels(world, ["2022-02-23"], 7)


@pytest.mark.parametrize("cutoff", ["2021-05-05", "2021-06-10", "2021-06-12", "2021-07-01"])
def test_features_have_no_leakage(world, cutoff):
    day = pd.Timestamp(cutoff)
    before = features.build_features(world, [day], None)
    changed = world.copy()
    future_weather = changed.weather["date"] > day
    value_columns = [c for c in changed.weather.columns if c not in ("station_id", "date")]
    changed.weather.loc[future_weather, value_columns] = 99.0
    # Rain of day D runs to 06 UTC D+1, so it is future information too.
    changed.weather.loc[changed.weather["date"] == day, "rain_mm"] = 99.0
    later_fire = changed.fires.iloc[[2]].assign(date=day + pd.Timedelta(days=1))
    changed.fires = pd.concat(
        [changed.fires[changed.fires["date"] <= day], later_fire, changed.fires.iloc[[-1]]],
        ignore_index=True,
    )
    after = features.build_features(changed, [day], None)
    pd.testing.assert_frame_equal(before, after)
    # The same changes do move the features of the next day, so the check can fail.
    next_day = [day + pd.Timedelta(days=1)]
    assert not features.build_features(world, next_day, None).equals(
        features.build_features(changed, next_day, None)
    )


def test_single_date_matches_panel(world):
    dates = pd.date_range("2021-05-01", "2021-07-31")
    panel = features.build_features(world, dates, None)
    for date in ("2021-05-06", "2021-06-12", "2021-07-31"):
        alone = features.build_features(world, [date], None)
        rows = panel[panel["date"] == pd.Timestamp(date)].reset_index(drop=True)
        pd.testing.assert_frame_equal(alone, rows)


def test_available_range_per_group(world):
    assert features.available_range(world, ["heat_humidity_wind"]) == (
        dt.date(2020, 1, 1),
        dt.date(2021, 12, 31),
    )
    assert features.available_range(world, ["rain"]) == (dt.date(2020, 1, 2), dt.date(2022, 1, 1))
    assert features.available_range(world, ["season"]) == (dt.date(2019, 6, 1), dt.date(2022, 3, 1))
    assert features.available_range(world, None) == (dt.date(2020, 1, 2), dt.date(2021, 12, 31))


def test_date_outside_range_names_valid_range(world):
    with pytest.raises(FeatureError, match="choose a date from 2020-01-01 to 2021-12-31"):
        features.build_features(world, ["2022-01-05"], ["heat_humidity_wind"])


def test_unknown_group_rejected(world):
    with pytest.raises(FeatureError, match=r"unknown feature groups \['wind'\]"):
        features.build_features(world, ["2021-01-01"], ["wind"])


def test_validate_groups_orders_and_parses():
    assert features.validate_groups("rain, season") == ("season", "rain")
    assert features.validate_groups(None) == features.FEATURE_GROUPS


def test_group_without_data_rejected(world):
    heat_columns = ["tx_c", "rh_min_pct", "wind_max_ms", "t12_c", "rh12_pct", "wind12_ms"]
    world.weather[heat_columns] = np.nan
    assert "heat_humidity_wind" not in features.group_ranges(world)
    assert features.available_range(world, ["rain"]) == (dt.date(2020, 1, 2), dt.date(2022, 1, 1))
    with pytest.raises(FeatureError, match=r"\['heat_humidity_wind'\] have no data"):
        features.available_range(world, None)
