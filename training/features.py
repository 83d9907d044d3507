"""Feature builder shared by training and serving: one row per (date, commune).

Every feature of day D uses only what is known at the end of day D. Rain of climatological day D
runs from 06 UTC D to 06 UTC D+1, so it is not known at the end of D and rain features use days up
to D-1. Daily max and min temperature, minimum humidity, max wind and the 12 UTC observation of D
are known. Rolling windows use whichever days have data, and a window with no data gives NaN.
Every feature of D depends only on the data of the `HISTORY_DAYS` days up to D. So building one
date alone gives exactly the values that a long training panel gives for that date.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from training.errors import FeatureError

logger = logging.getLogger(__name__)

FEATURE_BUILDER_VERSION = "1"
FEATURE_GROUPS = ("season", "commune", "recent_fires", "rain", "heat_humidity_wind")

GROUP_COLUMNS: dict[str, tuple[str, ...]] = {
    "season": ("day_of_year_sin", "day_of_year_cos", "month"),
    "commune": ("area_km2", "population_density", "lon", "lat"),
    "recent_fires": (
        "fires_7d",
        "fires_30d",
        "fires_365d",
        "neighbour_fires_7d",
        "neighbour_fires_30d",
        "neighbour_fires_365d",
    ),
    "rain": ("rain_7d_mm", "rain_30d_mm", "rain_90d_mm", "days_since_rain"),
    "heat_humidity_wind": (
        "tx_c",
        "rh_min_pct",
        "wind_max_ms",
        "t12_c",
        "rh12_pct",
        "wind12_ms",
        "tx_max_7d_c",
        "rh_min_min_7d_pct",
        "wind_max_max_7d_ms",
    ),
}

# Direction in which each weather feature may move the fire risk: +1 for hotter, drier or windier
# and -1 for cooler, wetter or calmer. The gradient-boosting family constrains its trees to these
# directions, so that worse fire weather never lowers its predicted risk.
MONOTONIC_DIRECTIONS: dict[str, int] = {
    "tx_c": 1,
    "t12_c": 1,
    "tx_max_7d_c": 1,
    "rh_min_pct": -1,
    "rh12_pct": -1,
    "rh_min_min_7d_pct": -1,
    "wind_max_ms": 1,
    "wind12_ms": 1,
    "wind_max_max_7d_ms": 1,
    "rain_7d_mm": -1,
    "rain_30d_mm": -1,
    "rain_90d_mm": -1,
    "days_since_rain": 1,
}

FIRE_WINDOWS_DAYS = (7, 30, 365)
RAIN_WINDOWS_DAYS = (7, 30, 90)
WEATHER_EXTREME_WINDOW_DAYS = 7
DAYS_SINCE_RAIN_CAP = 365
WET_DAY_MM = 1.0
# Days of history before the first requested date that the longest window needs (365 days of
# fires up to and including D; rain of D-1 back to D-365 for the days since the last wet day).
HISTORY_DAYS = 366
# Inverse-distance weighting: weight = 1 / max(distance, IDW_MIN_DISTANCE_KM) ** IDW_POWER.
IDW_POWER = 2.0
IDW_MIN_DISTANCE_KM = 1.0
EARTH_RADIUS_KM = 6371.0

# Weather columns each group reads, for `available_range`.
_HEAT_COLUMNS = ("tx_c", "rh_min_pct", "wind_max_ms", "t12_c", "rh12_pct", "wind12_ms")


def feature_columns(groups: Iterable[str]) -> list[str]:
    """Return the feature columns of `groups`, in the order of `FEATURE_GROUPS`."""
    selected = set(validate_groups(groups))
    return [
        column for group in FEATURE_GROUPS if group in selected for column in GROUP_COLUMNS[group]
    ]


def validate_groups(groups: Iterable[str] | str | None) -> tuple[str, ...]:
    """Return `groups` in canonical order; None means every group.

    Accepts a comma-separated string as written in run params. Raises FeatureError on an unknown
    or empty selection.
    """
    if groups is None:
        return FEATURE_GROUPS
    if isinstance(groups, str):
        groups = [part.strip() for part in groups.split(",") if part.strip()]
    requested = list(groups)
    unknown = [group for group in requested if group not in FEATURE_GROUPS]
    if unknown:
        raise FeatureError(
            f"unknown feature groups {unknown!r}: expected a subset of {', '.join(FEATURE_GROUPS)}"
        )
    if not requested:
        raise FeatureError(f"no feature group selected: choose from {', '.join(FEATURE_GROUPS)}")
    return tuple(group for group in FEATURE_GROUPS if group in requested)


def group_ranges(dataset: Any) -> dict[str, tuple[dt.date, dt.date] | None]:
    """Return, per group with data, the first and last date whose features have inputs.

    None means any date. A weather group whose columns are empty everywhere is left out.
    """
    fire_first, fire_last = fire_data_range(dataset)
    ranges = {
        "season": None,
        "commune": None,
        "recent_fires": (fire_first, fire_last),
    }
    rain = _weather_range(dataset, ("rain_mm",))
    if rain is not None:
        ranges["rain"] = _shifted_range(rain, days=1)
    heat = _weather_range(dataset, _HEAT_COLUMNS)
    if heat is not None:
        ranges["heat_humidity_wind"] = heat
    return ranges


def available_range(dataset: Any, groups: Iterable[str] | None) -> tuple[dt.date, dt.date]:
    """Return the first and last dates for which every group in `groups` has its inputs.

    Season and commune features exist for any date. When only those groups are selected, the
    range of the fire data is returned, because the labels need fire records anyway. Raises
    FeatureError when a selected group has no data at all or the groups share no date.
    """
    selected = validate_groups(groups)
    ranges = group_ranges(dataset)
    without_data = [group for group in selected if group not in ranges]
    if without_data:
        raise FeatureError(
            f"feature groups {without_data!r} have no data in {dataset.uri!r}: drop them with "
            "--feature-groups or add the missing weather files"
        )
    first, last = fire_data_range(dataset)
    bounded = [ranges[group] for group in selected if ranges[group] is not None]
    if bounded:
        first = max(start for start, _ in bounded)
        last = min(end for _, end in bounded)
    if first > last:
        raise FeatureError(
            f"feature groups {list(selected)!r} have no date in common ({ranges!r}): choose "
            "groups whose data periods overlap"
        )
    return first, last


def fire_data_range(dataset: Any) -> tuple[dt.date, dt.date]:
    """Return the dates of the first and last fire record."""
    if dataset.fires.empty:
        raise FeatureError(
            "the dataset has no fire record: check the fires file of the data folder"
        )
    return dataset.fires["date"].min().date(), dataset.fires["date"].max().date()


def _weather_range(dataset: Any, columns: Sequence[str]) -> tuple[dt.date, dt.date] | None:
    weather = dataset.weather
    has_value = weather[list(columns)].notna().any(axis=1)
    dates = weather.loc[has_value, "date"]
    if dates.empty:
        return None
    return dates.min().date(), dates.max().date()


def _shifted_range(date_range: tuple[dt.date, dt.date], days: int) -> tuple[dt.date, dt.date]:
    delta = dt.timedelta(days=days)
    return date_range[0] + delta, date_range[1] + delta


def to_dates(dates: Iterable[Any] | Any) -> pd.DatetimeIndex:
    """Return `dates` as sorted unique tz-naive midnights."""
    if isinstance(dates, (str, dt.date, pd.Timestamp)):
        dates = [dates]
    index = pd.DatetimeIndex(pd.to_datetime(list(dates))).normalize()
    if index.tz is not None:
        index = index.tz_localize(None)
    return index.unique().sort_values()


def check_dates_in_range(dataset: Any, dates: pd.DatetimeIndex, groups: Sequence[str]) -> None:
    """Raise FeatureError naming the valid range when a date falls outside it."""
    first, last = available_range(dataset, groups)
    outside = dates[(dates.date < first) | (dates.date > last)]
    if len(outside):
        raise FeatureError(
            f"date {outside[0].date().isoformat()!r} is outside the range that feature groups "
            f"{', '.join(groups)} cover: choose a date from {first.isoformat()} to "
            f"{last.isoformat()}"
        )


def build_features(
    dataset: Any, dates: Iterable[Any] | Any, groups: Iterable[str] | None
) -> pd.DataFrame:
    """Build one row per (date, commune), sorted by date then commune code.

    Columns: `date` (datetime64 midnight), `commune_code`, then the feature columns of `groups`
    as float32. Raises FeatureError when a date is outside `available_range(dataset, groups)`.
    """
    selected = validate_groups(groups)
    requested_dates = to_dates(dates)
    if requested_dates.empty:
        raise FeatureError("no date requested: pass at least one date")
    check_dates_in_range(dataset, requested_dates, selected)
    days = pd.date_range(
        requested_dates[0] - pd.Timedelta(days=HISTORY_DAYS), requested_dates[-1], freq="D"
    )
    positions = days.get_indexer(requested_dates)
    communes = dataset.communes
    n_communes = len(communes)

    frame = pd.DataFrame(
        {
            "date": np.repeat(requested_dates.values, n_communes),
            "commune_code": np.tile(communes["code"].to_numpy(dtype=object), len(requested_dates)),
        }
    )
    frame["commune_code"] = frame["commune_code"].astype("string")
    builders = {
        "season": _season_features,
        "commune": _commune_features,
        "recent_fires": _recent_fire_features,
        "rain": _rain_features,
        "heat_humidity_wind": _heat_features,
    }
    for group in selected:
        matrices = builders[group](dataset, days, positions)
        for name in GROUP_COLUMNS[group]:
            frame[name] = np.asarray(matrices[name], dtype=np.float32).ravel()
    return frame


def _season_features(dataset: Any, days: pd.DatetimeIndex, positions: np.ndarray) -> dict:
    requested_dates = days[positions]
    n_communes = len(dataset.communes)
    angle = 2 * np.pi * (requested_dates.dayofyear.to_numpy() - 1) / 365.25
    per_date = {
        "day_of_year_sin": np.sin(angle),
        "day_of_year_cos": np.cos(angle),
        "month": requested_dates.month.to_numpy(),
    }
    return {
        name: np.repeat(values[:, None], n_communes, axis=1) for name, values in per_date.items()
    }


def _commune_features(dataset: Any, days: pd.DatetimeIndex, positions: np.ndarray) -> dict:
    communes = dataset.communes
    area = communes["area_km2"].to_numpy(dtype=float)
    population = communes["population"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(area > 0, population / area, np.nan)
    per_commune = {
        "area_km2": area,
        "population_density": density,
        "lon": communes["lon"].to_numpy(dtype=float),
        "lat": communes["lat"].to_numpy(dtype=float),
    }
    return {name: np.tile(values, (len(positions), 1)) for name, values in per_commune.items()}


def daily_fire_counts(dataset: Any, days: pd.DatetimeIndex) -> np.ndarray:
    """Count fires starting per (day, commune) over `days`, communes in `dataset.communes` order."""
    fires = dataset.fires
    in_range = (fires["date"] >= days[0]) & (fires["date"] <= days[-1])
    selected = fires.loc[in_range]
    day_index = ((selected["date"] - days[0]).dt.days).to_numpy()
    commune_index = pd.Index(dataset.communes["code"]).get_indexer(selected["commune_code"])
    known = commune_index >= 0
    if not known.all():
        logger.debug("%d fires name a commune outside the commune list", int((~known).sum()))
    counts = np.zeros((len(days), len(dataset.communes)), dtype=np.float64)
    np.add.at(counts, (day_index[known], commune_index[known]), 1.0)
    return counts


def _trailing_sums(counts: np.ndarray, window: int) -> np.ndarray:
    """Sum each column over the `window` rows up to and including each row."""
    cumulative = np.vstack([np.zeros((1, counts.shape[1])), np.cumsum(counts, axis=0)])
    upper = np.arange(1, counts.shape[0] + 1)
    lower = np.maximum(upper - window, 0)
    return cumulative[upper] - cumulative[lower]


def neighbour_matrix(communes: pd.DataFrame) -> np.ndarray:
    """Return the symmetric 0/1 matrix of communes sharing a border, in `communes` order."""
    codes = communes["code"].tolist()
    index = {code: position for position, code in enumerate(codes)}
    matrix = np.zeros((len(codes), len(codes)), dtype=np.float64)
    for position, neighbours in enumerate(communes["neighbours"]):
        for code in neighbours:
            other = index.get(code)
            if other is not None and other != position:
                matrix[position, other] = 1.0
                matrix[other, position] = 1.0
    return matrix


def _recent_fire_features(dataset: Any, days: pd.DatetimeIndex, positions: np.ndarray) -> dict:
    counts = daily_fire_counts(dataset, days)
    neighbours = neighbour_matrix(dataset.communes)
    features = {}
    for window in FIRE_WINDOWS_DAYS:
        own = _trailing_sums(counts, window)[positions]
        features[f"fires_{window}d"] = own
        features[f"neighbour_fires_{window}d"] = own @ neighbours
    return features


def idw_weights(communes: pd.DataFrame, stations: pd.DataFrame) -> np.ndarray:
    """Return inverse-distance weights (communes x stations) from great-circle distances in km.

    NOTE: the shared data has two stations, the Ajaccio and Bastia airports, so every commune,
    mountain ones included, gets a blend of two coastal series with no altitude correction.
    """
    lat1 = np.radians(communes["lat"].to_numpy(dtype=float))[:, None]
    lon1 = np.radians(communes["lon"].to_numpy(dtype=float))[:, None]
    lat2 = np.radians(stations["lat"].to_numpy(dtype=float))[None, :]
    lon2 = np.radians(stations["lon"].to_numpy(dtype=float))[None, :]
    haversine = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    distance = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(haversine))
    return 1.0 / np.maximum(distance, IDW_MIN_DISTANCE_KM) ** IDW_POWER


def station_matrix(dataset: Any, column: str, days: pd.DatetimeIndex) -> np.ndarray:
    """Return `column` as a (days x stations) matrix in `dataset.stations` order, NaN if missing."""
    weather = dataset.weather
    in_range = (weather["date"] >= days[0]) & (weather["date"] <= days[-1])
    rows = weather.loc[in_range, ["station_id", "date", column]]
    day_index = ((rows["date"] - days[0]).dt.days).to_numpy()
    station_index = pd.Index(dataset.stations["station_id"]).get_indexer(rows["station_id"])
    known = station_index >= 0
    matrix = np.full((len(days), len(dataset.stations)), np.nan)
    matrix[day_index[known], station_index[known]] = rows[column].to_numpy(dtype=float)[known]
    return matrix


def interpolate_to_communes(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Interpolate (days x stations) values to (days x communes), per day over stations with data.

    A day on which no station has a value gives NaN for every commune.
    """
    has_value = ~np.isnan(values)
    numerator = np.where(has_value, values, 0.0) @ weights.T
    denominator = has_value.astype(np.float64) @ weights.T
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def _commune_weather(dataset: Any, column: str, days: pd.DatetimeIndex) -> np.ndarray:
    weights = idw_weights(dataset.communes, dataset.stations)
    return interpolate_to_communes(station_matrix(dataset, column, days), weights)


def _rolling(matrix: np.ndarray, window: int, statistic: str) -> np.ndarray:
    """Apply a NaN-skipping rolling `statistic` ("sum", "max", "min") over rows, min_periods=1."""
    rolling = pd.DataFrame(matrix).rolling(window, min_periods=1)
    return getattr(rolling, statistic)().to_numpy()


def _rain_features(dataset: Any, days: pd.DatetimeIndex, positions: np.ndarray) -> dict:
    rain = _commune_weather(dataset, "rain_mm", days)
    # Row d contains the rain of day d-1, the last climatological day complete at the end of d.
    known_rain = np.vstack([np.full((1, rain.shape[1]), np.nan), rain[:-1]])
    features = {
        f"rain_{window}d_mm": _rolling(known_rain, window, "sum")[positions]
        for window in RAIN_WINDOWS_DAYS
    }
    day_number = np.arange(len(days))[:, None]
    wet_day = np.where(known_rain >= WET_DAY_MM, day_number, -(10**9))
    last_wet = np.maximum.accumulate(wet_day, axis=0)
    days_since = np.minimum(day_number - last_wet + 1, DAYS_SINCE_RAIN_CAP)
    features["days_since_rain"] = days_since[positions]
    return features


def _heat_features(dataset: Any, days: pd.DatetimeIndex, positions: np.ndarray) -> dict:
    window = WEATHER_EXTREME_WINDOW_DAYS
    start = max(int(positions[0]) - window + 1, 0)
    recent = days[start:]
    rows = positions - start
    features = {}
    for column in _HEAT_COLUMNS:
        features[column] = _commune_weather(dataset, column, recent)
    extremes = {
        "tx_max_7d_c": _rolling(features["tx_c"], window, "max"),
        "rh_min_min_7d_pct": _rolling(features["rh_min_pct"], window, "min"),
        "wind_max_max_7d_ms": _rolling(features["wind_max_ms"], window, "max"),
    }
    features.update(extremes)
    return {name: matrix[rows] for name, matrix in features.items()}


def build_labels(dataset: Any, dates: Iterable[Any] | Any, horizon_days: int) -> pd.DataFrame:
    """Build the label of each (date, commune): fires starting on days D+1 to D+horizon_days.

    Returns `date`, `commune_code`, `fires_next_h` (count, float32) and `label` (int8, 1 when
    the count is at least 1), in the row order of `build_features`. Raises FeatureError when the
    horizon of a date runs past the last fire record.
    """
    if horizon_days < 1:
        raise FeatureError(f"horizon_days={horizon_days!r} is invalid: use a whole number >= 1")
    requested_dates = to_dates(dates)
    first, last = fire_data_range(dataset)
    horizon = pd.Timedelta(days=horizon_days)
    start, end = requested_dates[0].date(), requested_dates[-1].date()
    needed_end = end + dt.timedelta(days=horizon_days)
    if start < first or needed_end > last:
        raise FeatureError(
            f"labels of {start}..{end} with a {horizon_days}-day horizon need fire records up "
            f"to {needed_end}, but they cover {first}..{last}: choose earlier dates or a shorter "
            "horizon"
        )
    days = pd.date_range(requested_dates[0], requested_dates[-1] + horizon, freq="D")
    counts = daily_fire_counts(dataset, days)
    cumulative = np.vstack([np.zeros((1, counts.shape[1])), np.cumsum(counts, axis=0)])
    positions = days.get_indexer(requested_dates)
    # cumulative[p + 1] counts fires up to day p; the label window is days p+1 .. p+horizon.
    upcoming = cumulative[positions + 1 + horizon_days] - cumulative[positions + 1]
    n_communes = len(dataset.communes)
    return pd.DataFrame(
        {
            "date": np.repeat(requested_dates.values, n_communes),
            "commune_code": pd.array(
                np.tile(dataset.communes["code"].to_numpy(dtype=object), len(requested_dates)),
                dtype="string",
            ),
            "fires_next_h": upcoming.ravel().astype(np.float32),
            "label": (upcoming.ravel() > 0).astype(np.int8),
        }
    )
