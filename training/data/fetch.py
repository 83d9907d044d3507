"""Download the official public sources into a local data folder.

- Commune outlines: the france-geojson repository (IGN Admin Express, INSEE COG, Licence Ouverte).
- Météo-France daily files for department 20 (Licence Ouverte 2.0). Their names roll every year
  (`previous-1950-2024` becomes `previous-1950-2025`), so the current names are read from the
  data.gouv.fr dataset API instead of being hard-coded.
- SYNOP monthly archives `synop.YYYYMM.csv.gz` (Météo-France, Licence Ouverte 2.0), cut down to the
  Ajaccio and Bastia rows.
BDIFF has no download URL, so `BDIFF_INSTRUCTIONS` describes how to export it by hand.
Files already present are skipped unless a refresh is requested. Every file is written atomically.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.data.download import atomic_write, download, get
from training.data.layout import COMMUNES_FILE, GROUPS
from training.data.weather import SYNOP_STATIONS
from training.errors import DataError

logger = logging.getLogger(__name__)

COMMUNES_BASE_URL = "https://raw.githubusercontent.com/gregoiredavid/france-geojson/master/"
COMMUNES_REMOTE_PATH = "regions/corse/communes-corse.geojson"
DATAGOUV_DATASET_API = (
    "https://www.data.gouv.fr/api/1/datasets/donnees-climatologiques-de-base-quotidiennes/"
)
SYNOP_BASE_URL = "https://donneespubliques.meteofrance.fr/donnees_libres/Txt/Synop/Archive/"
SYNOP_FIRST_MONTH = "1996-01"

# Daily files for department 20 from 1950 on. The 1852-1949 file is left out.
DAILY_FILE = re.compile(
    r"^Q_20_(previous|latest)-\d{4}-\d{4}_(RR-T-Vent|autres-parametres)\.csv\.gz$"
)

BDIFF_INSTRUCTIONS = """\
BDIFF (the fire history) has no download URL. Export it by hand:
  1. Open https://bdiff.agriculture.gouv.fr/incendies
  2. Select the departments 2A (Corse-du-Sud) and 2B (Haute-Corse) and the years you need
     (1973 to the last full year), then choose "Exporter" and the CSV format.
  3. Save the file, unchanged, as {folder}/fires/<any name>.csv (UTF-8 or Windows-1252, with or
     without the preamble lines; several files may sit side by side, duplicates count once).
Credit it as "Source: BDIFF, bdiff.agriculture.gouv.fr" wherever its data is shown."""


@dataclass(frozen=True)
class FetchOptions:
    """Download settings: the destination, the sources and their base URLs (mirrors allowed)."""

    destination: Path
    timeout: float
    retries: int
    communes_base_url: str = COMMUNES_BASE_URL
    datagouv_dataset_api: str = DATAGOUV_DATASET_API
    synop_base_url: str = SYNOP_BASE_URL
    synop_first_month: str = SYNOP_FIRST_MONTH
    synop_last_month: str | None = None
    sources: tuple[str, ...] = ("communes", "meteofrance", "synop")
    # Météo-France rewrites its `latest` daily file every day, so `refresh` downloads again.
    refresh: bool = False


@dataclass
class FetchSummary:
    """Relative paths downloaded, skipped because present, and not found on the server."""

    downloaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)


def fetch_all(options: FetchOptions) -> FetchSummary:
    """Download every selected source into `options.destination`."""
    summary = FetchSummary()
    steps = {
        "communes": fetch_communes,
        "meteofrance": fetch_meteofrance_daily,
        "synop": fetch_synop,
    }
    for name in options.sources:
        if name not in steps:
            raise DataError(f"unknown source {name!r}; expected one of {', '.join(steps)}.")
        steps[name](options, summary)
    return summary


def fetch_communes(options: FetchOptions, summary: FetchSummary) -> None:
    """Download the 360 commune outlines of Corsica."""
    url = _join(options.communes_base_url, COMMUNES_REMOTE_PATH)
    _download_once(url, COMMUNES_FILE, options, summary)


def fetch_meteofrance_daily(options: FetchOptions, summary: FetchSummary) -> None:
    """Download the department-20 daily files currently listed by the data.gouv.fr API."""
    folder = GROUPS["meteofrance"].folder
    resources = list_daily_resources(options)
    if not resources:
        raise DataError(
            f"{options.datagouv_dataset_api}: no resource named like Q_20_previous-... or "
            "Q_20_latest-... was listed; check the dataset API URL."
        )
    for name, url in resources:
        _download_once(url, f"{folder}/{name}", options, summary)


def list_daily_resources(options: FetchOptions) -> list[tuple[str, str]]:
    """Return (file name, URL) of each department-20 daily file listed by the dataset API.

    The API returns either the whole dataset (`resources`) or one page of resources (`data`
    and `next_page`). Both forms are read, and pages are followed.
    """
    # NOTE: the response forms were taken from the data.gouv.fr API documentation and checked
    # only against a local test server, since this machine cannot reach data.gouv.fr.
    found: dict[str, str] = {}
    url: str | None = options.datagouv_dataset_api
    pages = 0
    while url and pages < 100:
        document = _get_json(url, options)
        resources = document.get("resources") or document.get("data") or []
        for resource in resources:
            resource_url = str(resource.get("url", ""))
            name = resource_url.rsplit("/", 1)[-1]
            if DAILY_FILE.match(name):
                found[name] = resource_url
        url = document.get("next_page")
        pages += 1
    return sorted(found.items())


def fetch_synop(options: FetchOptions, summary: FetchSummary) -> None:
    """Download monthly SYNOP archives and keep only the Corsican stations' rows."""
    folder = GROUPS["synop"].folder
    for month in _months(options.synop_first_month, options.synop_last_month):
        name = f"synop.{month}.csv.gz"
        relative_path = f"{folder}/{name}"
        destination = options.destination / relative_path
        if destination.exists() and not options.refresh:
            summary.skipped.append(relative_path)
            continue
        url = _join(options.synop_base_url, name)
        with get(url, options.timeout, options.retries) as response:
            if response.status_code == 404:
                logger.warning("%s not found; the month may not be published yet", url)
                summary.not_found.append(relative_path)
                continue
            if response.status_code != 200:
                raise DataError(f"GET {url} returned HTTP {response.status_code}; try again later.")
            content = response.content
        _write_synop_extract(content, destination, url)
        summary.downloaded.append(relative_path)
        logger.info("downloaded %s", url)


def _write_synop_extract(content: bytes, destination: Path, url: str) -> None:
    try:
        text = gzip.decompress(content).decode("utf-8", errors="replace")
    except (OSError, EOFError) as error:
        raise DataError(f"{url}: invalid or truncated gzip file ({error}); try again.") from None
    lines = text.splitlines()
    if not lines or not lines[0].startswith("numer_sta;"):
        raise DataError(f"{url}: no `numer_sta;` header; the archive format may have changed.")
    kept = [lines[0], *(line for line in lines[1:] if line[:5] in SYNOP_STATIONS)]
    with atomic_write(destination) as temporary:
        temporary.write_bytes(gzip.compress(("\n".join(kept) + "\n").encode(), mtime=0))


def _download_once(
    url: str, relative_path: str, options: FetchOptions, summary: FetchSummary
) -> None:
    destination = options.destination / relative_path
    if destination.exists() and not options.refresh:
        summary.skipped.append(relative_path)
        return
    size = download(url, destination, options.timeout, options.retries)
    summary.downloaded.append(relative_path)
    logger.info("downloaded %s (%d bytes)", url, size)


def _get_json(url: str, options: FetchOptions) -> dict[str, Any]:
    with get(url, options.timeout, options.retries) as response:
        if response.status_code != 200:
            raise DataError(f"GET {url} returned HTTP {response.status_code}; check the URL.")
        try:
            document = json.loads(response.content)
        except json.JSONDecodeError as error:
            raise DataError(f"GET {url}: the response is not JSON ({error}).") from None
    if not isinstance(document, dict):
        raise DataError(f"GET {url}: expected a JSON object, got {type(document).__name__}.")
    return document


def _months(first: str, last: str | None) -> list[str]:
    """Return YYYYMM strings from `first` to `last` (YYYY-MM), by default the previous month."""
    start = _parse_month(first)
    if last is None:
        today = dt.date.today().replace(day=1)
        end = (today - dt.timedelta(days=1)).replace(day=1)
    else:
        end = _parse_month(last)
    months = []
    current = start
    while current <= end:
        months.append(current.strftime("%Y%m"))
        current = (current + dt.timedelta(days=32)).replace(day=1)
    return months


def _parse_month(value: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise DataError(f"month {value!r} is not of the form YYYY-MM, such as 2016-10.") from None


def _join(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + "/" + path
