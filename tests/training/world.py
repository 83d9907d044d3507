"""A tiny synthetic Corsica with the columns of `training.data.Dataset`, for hand-checked tests.

Four communes in a chain of borders (2A001 - 2A002 - 2B001 - 2B002), two stations at the real
Ajaccio and Bastia coordinates, daily weather for 2020-2021 and a handful of fires. Commune 2A001
sits on the Ajaccio station and 2B002 on the Bastia station.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

AJACCIO = "20004002"
BASTIA = "20148001"
WEATHER_START = "2020-01-01"
WEATHER_END = "2021-12-31"

# (commune, local alert time) of every fire of the world.
FIRES = [
    ("2B002", "2019-06-01 12:00"),
    ("2A001", "2020-03-01 15:30"),
    ("2A001", "2021-06-10 13:00"),
    ("2A001", "2021-06-10 17:45"),
    ("2B001", "2021-06-12 23:30"),
    ("2A002", "2021-06-20 08:00"),
    ("2B002", "2022-03-01 10:00"),
]

# Rain (mm, 06 UTC D to 06 UTC D+1) at both stations; every other day is dry.
RAIN = {"2021-05-01": 2.0, "2021-05-05": 5.0, "2021-05-20": 0.5}


@dataclass
class World:
    """Stand-in for `training.data.Dataset` with the same attributes."""

    communes: pd.DataFrame
    fires: pd.DataFrame
    stations: pd.DataFrame
    weather: pd.DataFrame
    uri: str = "synthetic://world"
    digest: str = "0" * 64
    report: dict[str, Any] = field(default_factory=lambda: {"usable": True})
    communes_geojson: dict[str, Any] = field(
        default_factory=lambda: {"type": "FeatureCollection", "features": []}
    )

    def copy(self) -> World:
        return copy.deepcopy(self)


def make_communes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "code": ["2A001", "2A002", "2B001", "2B002"],
            "name": ["Alpha", "Beta", "Gamma", "Delta"],
            "department": ["2A", "2A", "2B", "2B"],
            "lon": [8.792667, 9.0, 9.3, 9.485167],
            "lat": [41.918, 42.1, 42.4, 42.540667],
            "area_km2": [10.0, 20.0, 5.0, 40.0],
            "population": [1000.0, 100.0, np.nan, 4000.0],
            "neighbours": [("2A002",), ("2A001", "2B001"), ("2A002", "2B002"), ("2B001",)],
        }
    )


def make_fires() -> pd.DataFrame:
    alert = pd.to_datetime([time for _, time in FIRES]).tz_localize("Europe/Paris")
    return pd.DataFrame(
        {
            "year": alert.year.astype("int64"),
            "number": [str(number) for number in range(1, len(FIRES) + 1)],
            "department": [code[:2] for code, _ in FIRES],
            "commune_code": [code for code, _ in FIRES],
            "alert_time": alert,
            "date": alert.tz_localize(None).normalize(),
            "area_ha": 1.0,
            "cause": "",
        }
    )


def make_stations() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "station_id": [AJACCIO, BASTIA],
            "name": ["AJACCIO", "BASTIA"],
            "lat": [41.918, 42.540667],
            "lon": [8.792667, 9.485167],
            "altitude": [5.0, 10.0],
        }
    )


def make_weather() -> pd.DataFrame:
    """Daily weather: Ajaccio is 10 degrees warmer, 20 points drier and 2 m/s windier than Bastia.

    tx_c grows by 0.01 per day from 10 at Bastia, so day i has tx 10 + 0.01 i (Bastia) and
    20 + 0.01 i (Ajaccio).
    """
    days = pd.date_range(WEATHER_START, WEATHER_END, freq="D")
    step = np.arange(len(days)) * 0.01
    rain = pd.Series(0.0, index=days)
    for day, amount in RAIN.items():
        rain[pd.Timestamp(day)] = amount
    frames = []
    for station, offset in ((AJACCIO, 1.0), (BASTIA, 0.0)):
        frames.append(
            pd.DataFrame(
                {
                    "station_id": station,
                    "date": days,
                    "rain_mm": rain.to_numpy(),
                    "tx_c": 10.0 + 10.0 * offset + step,
                    "tn_c": 5.0 + step,
                    "rh_min_pct": 60.0 - 20.0 * offset,
                    "t12_c": 9.0 + 10.0 * offset + step,
                    "rh12_pct": 70.0 - 20.0 * offset,
                    "wind12_ms": 3.0 + 2.0 * offset,
                    "wind_max_ms": 6.0 + 2.0 * offset,
                }
            )
        )
    weather = pd.concat(frames, ignore_index=True)
    weather["station_id"] = weather["station_id"].astype("string")
    return weather.sort_values(["station_id", "date"]).reset_index(drop=True)


def make_world() -> World:
    return World(
        communes=make_communes(),
        fires=make_fires(),
        stations=make_stations(),
        weather=make_weather(),
    )
