"""The whole data folder loaded and checked: communes, fires, weather stations and days."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from training.data.communes import Communes, load_communes
from training.data.digest import dataset_digest, file_sha256
from training.data.fires import Fires, load_fires
from training.data.layout import COMMUNES_FILE, FOLDERS, POPULATION_FILE, select_files
from training.data.sources import DataSource, open_source
from training.data.weather import Weather, WeatherFiles, load_weather
from training.errors import DataError
from training.settings import load_settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dataset:
    """Every input of the model, loaded from one data folder.

    `digest` identifies the exact files read. `report` is the JSON-ready check report.
    Column contracts: see `load_dataset`.
    """

    uri: str
    digest: str
    report: dict[str, Any]
    communes: pd.DataFrame
    communes_geojson: dict[str, Any]
    fires: pd.DataFrame
    stations: pd.DataFrame
    weather: pd.DataFrame


def load_dataset(uri: str | None = None) -> Dataset:
    """Load and check the data folder at `uri` (default: the FIRE_DATA_URI setting).

    `uri` is a local folder, an http(s):// base URL or an s3://bucket/prefix.

    Returns a `Dataset` with:
      - communes, sorted by code: code ("2A004"), name, department ("2A"/"2B"), lon, lat
        (centroid, WGS84), area_km2, population (NaN if unknown), neighbours (tuple of codes).
      - fires, sorted by alert_time: year, number, department, commune_code, alert_time
        (Europe/Paris), date (naive local midnight), area_ha, cause ("" when unknown).
      - stations: station_id (Météo-France NUM_POSTE), name, lat, lon, altitude.
      - weather, sorted by station_id and date, one row per station-day: rain_mm (06 UTC D to
        06 UTC D+1), tx_c, tn_c, rh_min_pct, t12_c, rh12_pct, wind12_ms, wind_max_ms (NaN when
        missing).

    Raises:
        DataError: a required file is missing or unreadable; the message names it and the fix.
    """
    started = time.perf_counter()
    if uri is None:
        uri = load_settings().data_uri
    source = open_source(uri)
    used: dict[str, Path] = {}
    communes, fires, weather = _load_parts(source, uri, used)
    _log_rejections(communes.report, fires.report, weather.report)
    file_digests = {relative: file_sha256(path) for relative, path in used.items()}
    digest = dataset_digest(file_digests)
    report = {
        "uri": uri,
        "digest": digest,
        "files": dict(sorted(file_digests.items())),
        "communes": communes.report,
        "fires": fires.report,
        "weather": weather.report,
        "usable": _is_usable(communes.table, fires.table, weather.days),
    }
    logger.info(
        "loaded %s: %d communes, %d fires, %d stations in %.1f s",
        uri,
        len(communes.table),
        len(fires.table),
        len(weather.stations),
        time.perf_counter() - started,
    )
    return Dataset(
        uri=uri,
        digest=digest,
        report=report,
        communes=communes.table,
        communes_geojson=communes.geojson,
        fires=fires.table,
        stations=weather.stations,
        weather=weather.days,
    )


def _load_parts(
    source: DataSource, uri: str, used: dict[str, Path]
) -> tuple[Communes, Fires, Weather]:
    """Load communes, fires and weather, recording in `used` every file read (for the digest)."""
    listing = {folder: source.list_folder(folder) for folder in FOLDERS}
    chosen = select_files(listing)

    def local_file(relative_path: str) -> tuple[Path, str]:
        path = source.local_path(relative_path)
        used[relative_path] = path
        return path, relative_path

    if COMMUNES_FILE not in chosen["communes"]:
        raise DataError(
            f"{COMMUNES_FILE}: file not found in {uri!r}; run `python -m training data fetch` "
            "to download the commune outlines."
        )
    outlines = local_file(COMMUNES_FILE)
    has_population = POPULATION_FILE in chosen["communes"]
    population = local_file(POPULATION_FILE) if has_population else (None, "")
    communes = load_communes(*outlines, *population)
    fires = load_fires([local_file(path) for path in chosen["fires"]], communes.table["code"])
    weather = load_weather(
        WeatherFiles(
            meteofrance=[local_file(path) for path in chosen["meteofrance"]],
            synop=[local_file(path) for path in chosen["synop"]],
            ecad=[local_file(path) for path in chosen["ecad"]],
        )
    )
    return communes, fires, weather


def _log_rejections(
    communes: dict[str, Any], fires: dict[str, Any], weather: dict[str, Any]
) -> None:
    """Log one warning per source that rejected rows or values, with the counts per reason."""
    sources = {"communes": communes, "fires": fires, "weather": weather}
    sources |= {f"weather {name}": report for name, report in weather["sources"].items()}
    for name, report in sources.items():
        if report["rejected"]:
            logger.warning("%s: rejected %s", name, report["rejected"])
    if fires["duplicates_dropped"]:
        logger.warning("fires: %d duplicate fires dropped", fires["duplicates_dropped"])


def _is_usable(communes: pd.DataFrame, fires: pd.DataFrame, weather: pd.DataFrame) -> bool:
    """Tell whether training can run: communes, fires and some weather are present."""
    return len(communes) > 0 and len(fires) > 0 and len(weather) > 0
