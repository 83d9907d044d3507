"""Daily weather per station, merged from Météo-France daily files, SYNOP and ECA&D.

Sources overlap, so each variable is taken from the first source that has it for a station-day,
in this priority: meteofrance-daily > synop > ecad. Météo-France's daily files are the official
validated values; SYNOP days are rebuilt from 3-hourly reports; ECA&D only has rain.
Each station gets one row per day from its first to its last day with any value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.data.ecad import load_ecad
from training.data.meteofrance import load_meteofrance
from training.data.report import Rejections, date_range
from training.data.synop import SourceDays, load_synop

VARIABLES = (
    "rain_mm",
    "tx_c",
    "tn_c",
    "rh_min_pct",
    "t12_c",
    "rh12_pct",
    "wind12_ms",
    "wind_max_ms",
)
SOURCE_PRIORITY = ("meteofrance-daily", "synop", "ecad")

# Météo-France climatological ids (NUM_POSTE) of the stations in the SYNOP and ECA&D feeds.
SYNOP_STATIONS = {"07761": "20004002", "07790": "20148001"}
ECAD_STATIONS = {2209: "20004002", 758: "20148001"}
KNOWN_STATIONS = pd.DataFrame(
    {
        "station_id": ["20004002", "20148001"],
        "name": ["AJACCIO", "BASTIA"],
        "lat": [41.918000, 42.540667],
        "lon": [8.792667, 9.485167],
        "altitude": [5.0, 10.0],
    }
)


@dataclass(frozen=True)
class Weather:
    """Stations, their daily weather and the check report."""

    stations: pd.DataFrame
    days: pd.DataFrame
    report: dict[str, Any]


@dataclass(frozen=True)
class WeatherFiles:
    """Local paths and display names of the weather files, per source."""

    meteofrance: Sequence[tuple[Path, str]] = ()
    synop: Sequence[tuple[Path, str]] = ()
    ecad: Sequence[tuple[Path, str]] = ()


def load_weather(files: WeatherFiles) -> Weather:
    """Read every weather source, merge the daily values and check them."""
    daily, meteofrance_stations = load_meteofrance(files.meteofrance)
    sources = {
        "meteofrance-daily": daily,
        "synop": load_synop(files.synop, SYNOP_STATIONS),
        "ecad": load_ecad(files.ecad, ECAD_STATIONS),
    }
    rejections = Rejections("weather")
    days = _merge(sources)
    days = _check_temperatures(days, rejections)
    days = _fill_calendar(days)
    stations = _stations(meteofrance_stations, days)
    report = _report(days, stations, sources, rejections)
    return Weather(stations=stations, days=days, report=report)


def _merge(sources: dict[str, SourceDays]) -> pd.DataFrame:
    frames = []
    for rank, name in enumerate(SOURCE_PRIORITY):
        frame = sources[name].days.reindex(columns=["station_id", "date", *VARIABLES])
        frames.append(frame.assign(priority=rank))
    stacked = pd.concat(frames, ignore_index=True).sort_values("priority", kind="mergesort")
    # `first` skips missing values, so each variable comes from the best source that has it.
    merged = stacked.groupby(["station_id", "date"], sort=True).first()
    merged = merged.drop(columns="priority").reset_index()
    return merged.dropna(subset=list(VARIABLES), how="all")


def _check_temperatures(days: pd.DataFrame, rejections: Rejections) -> pd.DataFrame:
    """Reject both tx and tn of a day where tx is below tn, since one of them is wrong."""
    inverted = days["tx_c"] < days["tn_c"]
    rejections.count("tx_below_tn", int(inverted.sum()))
    return days.assign(
        tx_c=days["tx_c"].mask(inverted),
        tn_c=days["tn_c"].mask(inverted),
    )


def _fill_calendar(days: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for station_id, group in days.groupby("station_id", sort=True):
        calendar = pd.date_range(group["date"].min(), group["date"].max(), freq="D")
        full = group.set_index("date").reindex(calendar).rename_axis("date").reset_index()
        parts.append(full.assign(station_id=station_id))
    if not parts:
        empty = {name: pd.Series(dtype="float64") for name in VARIABLES}
        return pd.DataFrame(
            {
                "station_id": pd.Series(dtype="str"),
                "date": pd.Series(dtype="datetime64[ns]"),
                **empty,
            }
        )
    filled = pd.concat(parts, ignore_index=True).loc[:, ["station_id", "date", *VARIABLES]]
    types = {"station_id": "str", "date": "datetime64[ns]"} | dict.fromkeys(VARIABLES, "float64")
    return filled.astype(types)


def _stations(meteofrance_stations: pd.DataFrame, days: pd.DataFrame) -> pd.DataFrame:
    """Describe the stations that have weather rows; Météo-France metadata wins when present."""
    known = pd.concat([meteofrance_stations, KNOWN_STATIONS], ignore_index=True)
    known = known.drop_duplicates(subset="station_id", keep="first")
    used = known.loc[known["station_id"].isin(days["station_id"].unique())]
    used = used.sort_values("station_id").reset_index(drop=True)
    return used.astype(
        {
            "station_id": "str",
            "name": "str",
            "lat": "float64",
            "lon": "float64",
            "altitude": "float64",
        }
    )


def _report(
    days: pd.DataFrame,
    stations: pd.DataFrame,
    sources: dict[str, SourceDays],
    rejections: Rejections,
) -> dict[str, Any]:
    first, last = date_range(days["date"])
    missing_share = None
    if len(days):
        missing_share = round(float(np.mean(days[list(VARIABLES)].isna().to_numpy())), 3)
    variables = {}
    for name in VARIABLES:
        with_value = days.loc[days[name].notna(), "date"]
        start, end = date_range(with_value)
        variables[name] = {"first_date": start, "last_date": end, "days": len(with_value)}
    return {
        "stations": len(stations),
        "station_ids": stations["station_id"].tolist(),
        "rows": len(days),
        "first_date": first,
        "last_date": last,
        "source_priority": " > ".join(SOURCE_PRIORITY),
        "variables": variables,
        "rejected": rejections.as_dict(),
        "sources": {name: source.report for name, source in sources.items()},
        "missing_share": missing_share,
    }
