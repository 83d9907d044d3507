"""Météo-France SYNOP 3-hourly observations turned into daily values per station.

The raw files (`synop.YYYYMM.csv.gz` or extracts with the same columns) are `;`-separated with a
trailing `;`, code missing values as `mq`, give temperatures in kelvin and times in UTC. A rain
amount of -0.1 mm means a trace and counts as 0. Daily conventions, for day D:

- tx: `tx12` reported at 18 UTC of D (max over 06-18 UTC). When it is missing, the max of `t`
  at 06-18 UTC of D, if at least 3 of those 5 reports exist. That max runs about 0.7 °C lower.
- tn: `tn12` reported at 06 UTC of D (min over 18 UTC D-1 to 06 UTC D). When it is missing, the
  min of `t` over the same window, if at least 3 of its 5 reports exist.
- rain: 06 UTC D to 06 UTC D+1, from `rr12` at 18 UTC D plus `rr12` at 06 UTC D+1, else the sum of
  the eight `rr3`, else `rr24` at 06 UTC D+1.
- t12, rh12, wind12: the 12 UTC report. rh_min and wind_max: min of `u` and max of `ff` over the
  UTC day, when at least 6 of the 8 reports exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from training.data.report import Rejections
from training.data.textfiles import find_header, parse_table, read_text, require_columns, to_number

KELVIN = 273.15
REQUIRED_COLUMNS = ("numer_sta", "date", "t", "u", "ff", "tn12", "tx12", "rr3", "rr12")
_NUMERIC = ("t", "u", "ff", "tn12", "tx12", "rr3", "rr12", "rr24")

# Plausible ranges of raw values; anything outside is rejected as impossible.
_LIMITS = {
    "t": (KELVIN - 40, KELVIN + 50),
    "tn12": (KELVIN - 40, KELVIN + 50),
    "tx12": (KELVIN - 40, KELVIN + 50),
    "u": (0.0, 100.0),
    "ff": (0.0, 75.0),
    "rr3": (0.0, 300.0),
    "rr12": (0.0, 500.0),
    "rr24": (0.0, 800.0),
}
_MIN_REPORTS_WINDOW = 3
_MIN_REPORTS_DAY = 6


@dataclass(frozen=True)
class SourceDays:
    """Daily values of one weather source and its part of the check report."""

    days: pd.DataFrame
    report: dict[str, Any]


def load_synop(files: Sequence[tuple[Path, str]], stations: Mapping[str, str]) -> SourceDays:
    """Read SYNOP files and return daily values for the stations in `stations` (WMO -> id)."""
    rejections = Rejections("synop")
    frames = [_read_file(path, name) for path, name in files]
    observations = pd.concat(frames, ignore_index=True) if frames else _empty_observations()
    rows_read = len(observations)
    observations = observations.loc[observations["numer_sta"].isin(list(stations))]
    other_stations = rows_read - len(observations)
    observations = _clean(observations, rejections)
    observations["station_id"] = observations["numer_sta"].map(stations)
    days = _daily(observations)
    report = {
        "files": [name for _, name in files],
        "rows_read": rows_read,
        "rows_other_stations": other_stations,
        "rejected": rejections.as_dict(),
        "days": len(days),
    }
    return SourceDays(days=days, report=report)


def _empty_observations() -> pd.DataFrame:
    columns = ("numer_sta", "date", *_NUMERIC)
    return pd.DataFrame({column: pd.Series(dtype="str") for column in columns})


def _read_file(path: Path, name: str) -> pd.DataFrame:
    text = read_text(path, name)
    lines = text.splitlines()
    header = find_header(lines, "numer_sta", ";", name, max_preamble=0)
    columns = ["numer_sta", "date", *_NUMERIC]
    frame = parse_table("\n".join(lines[header:]), ";", name, columns=columns)
    require_columns(frame, REQUIRED_COLUMNS, name)
    if "rr24" not in frame.columns:
        frame["rr24"] = ""
    return frame.loc[:, columns].assign(numer_sta=frame["numer_sta"].str.strip().str.zfill(5))


def _clean(observations: pd.DataFrame, rejections: Rejections) -> pd.DataFrame:
    time = pd.to_datetime(observations["date"], format="%Y%m%d%H%M%S", errors="coerce")
    observations = rejections.drop(observations.assign(time=time), time.isna(), "invalid_date")
    before = len(observations)
    # The same report may appear twice (7 times in the 2004-2016 extract, identical copies).
    observations = observations.drop_duplicates(subset=["numer_sta", "time"], keep="first")
    rejections.count("duplicate_timestamp", before - len(observations))
    cleaned = {"numer_sta": observations["numer_sta"], "time": observations["time"]}
    for column in _NUMERIC:
        values = to_number(observations[column])
        if column.startswith("rr"):
            values = values.mask(values == -0.1, 0.0)
        low, high = _LIMITS[column]
        impossible = values.notna() & ((values < low) | (values > high))
        rejections.count(f"impossible_{column}", int(impossible.sum()))
        cleaned[column] = values.mask(impossible)
    return pd.DataFrame(cleaned)


def _daily(observations: pd.DataFrame) -> pd.DataFrame:
    obs = observations.assign(
        day=observations["time"].dt.normalize(),
        hour=observations["time"].dt.hour,
        # Accumulations ending in (06 UTC D, 06 UTC D+1] belong to the climatological day D.
        rain_day=(observations["time"] - pd.Timedelta(hours=6, seconds=1)).dt.normalize(),
        # 18 UTC of D-1 to 06 UTC of D belongs to the night before day D.
        night=(observations["time"] + pd.Timedelta(hours=6)).dt.normalize(),
    )
    keys = ["station_id", "day"]
    parts = [
        _daily_tx(obs),
        _daily_tn(obs),
        _daily_rain(obs),
        _at_hour(obs, 12, {"t": "t12_c", "u": "rh12_pct", "ff": "wind12_ms"}),
        _day_aggregates(obs),
    ]
    days = pd.concat([part.set_index(keys) for part in parts], axis=1).sort_index()
    days["t12_c"] = days["t12_c"] - KELVIN
    days = days.reset_index().rename(columns={"day": "date"})
    return days.astype({"station_id": "str", "date": "datetime64[ns]"})


def _at_hour(obs: pd.DataFrame, hour: int, renames: dict[str, str]) -> pd.DataFrame:
    rows = obs.loc[obs["hour"] == hour, ["station_id", "day", *renames]]
    return rows.rename(columns=renames)


def _daily_tx(obs: pd.DataFrame) -> pd.DataFrame:
    reported = _at_hour(obs, 18, {"tx12": "tx_c"}).set_index(["station_id", "day"])["tx_c"]
    window = obs.loc[obs["hour"].between(6, 18)].groupby(["station_id", "day"])["t"]
    fallback = window.max().where(window.count() >= _MIN_REPORTS_WINDOW)
    tx = reported.reindex(reported.index.union(fallback.index)).combine_first(fallback)
    return (tx - KELVIN).rename("tx_c").reset_index()


def _daily_tn(obs: pd.DataFrame) -> pd.DataFrame:
    reported = _at_hour(obs, 6, {"tn12": "tn_c"}).set_index(["station_id", "day"])["tn_c"]
    in_window = obs["hour"].isin([18, 21, 0, 3, 6])
    window = obs.loc[in_window].groupby(["station_id", "night"])["t"]
    fallback = window.min().where(window.count() >= _MIN_REPORTS_WINDOW)
    fallback.index = fallback.index.set_names(["station_id", "day"])
    tn = reported.reindex(reported.index.union(fallback.index)).combine_first(fallback)
    return (tn - KELVIN).rename("tn_c").reset_index()


def _daily_rain(obs: pd.DataFrame) -> pd.DataFrame:
    groups = ["station_id", "rain_day"]
    half_days = obs.loc[obs["hour"].isin([6, 18])].groupby(groups)["rr12"]
    from_rr12 = half_days.sum(min_count=2)
    three_hours = obs.groupby(groups)["rr3"]
    from_rr3 = three_hours.sum(min_count=8).where(three_hours.count() == 8)
    from_rr24 = obs.loc[obs["hour"] == 6].groupby(groups)["rr24"].first()
    rain = from_rr12.combine_first(from_rr3).combine_first(from_rr24)
    rain.index = rain.index.set_names(["station_id", "day"])
    return rain.rename("rain_mm").reset_index()


def _day_aggregates(obs: pd.DataFrame) -> pd.DataFrame:
    grouped = obs.groupby(["station_id", "day"])
    rh_min = grouped["u"].min().where(grouped["u"].count() >= _MIN_REPORTS_DAY)
    wind_max = grouped["ff"].max().where(grouped["ff"].count() >= _MIN_REPORTS_DAY)
    return pd.DataFrame({"rh_min_pct": rh_min, "wind_max_ms": wind_max}).reset_index()
