"""BDIFF fire records: the Corsica extract, national files and new web exports.

All of them share BDIFF's column names. New exports start with a few preamble lines before the
`Année;` header and may write dates as `YYYY-MM-DD HH:MM:SS`. National files are cut down to
departments 2A and 2B. A fire is identified by (year, number, department): when several files
contain the same fire, the first file in path order wins and the others' copies are counted as
duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.data.report import Rejections, date_range
from training.data.textfiles import find_header, parse_table, read_text, require_columns, to_number
from training.errors import DataError

TIMEZONE = "Europe/Paris"
CORSICAN_DEPARTMENTS = ("2A", "2B")

YEAR, NUMBER, DEPARTMENT = "Année", "Numéro", "Département"
COMMUNE, ALERT, AREA, CAUSE = (
    "Code INSEE",
    "Date de première alerte",
    "Surface parcourue (m2)",
    "Nature",
)
REQUIRED_COLUMNS = (YEAR, NUMBER, DEPARTMENT, COMMUNE, ALERT, AREA)

# Local alert times, day first in the historical files, ISO in new web exports.
ALERT_FORMATS = ("%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M")

# Corsica covers about 8,680 km², and a single fire cannot burn more than the island.
MAX_AREA_HA = 868_000.0

COLUMNS = (
    "year",
    "number",
    "department",
    "commune_code",
    "alert_time",
    "date",
    "area_ha",
    "cause",
)


@dataclass(frozen=True)
class Fires:
    """The fires table and its check report."""

    table: pd.DataFrame
    report: dict[str, Any]


def load_fires(files: Sequence[tuple[Path, str]], commune_codes: Iterable[str]) -> Fires:
    """Read every BDIFF file (local path and display name), validate and merge the rows.

    Raises:
        DataError: no file is given, or a file is empty, truncated, has the wrong separator
            or lacks a required column.
    """
    if not files:
        raise DataError(
            "fires/: no BDIFF file (*.csv or *.csv.gz) found; export one from "
            "https://bdiff.agriculture.gouv.fr/incendies and put it in the fires/ folder."
        )
    rejections = Rejections("fires")
    per_file = []
    frames = []
    for path, name in files:
        raw, read_rows = _read_file(path, name)
        corsican = raw["department"].isin(CORSICAN_DEPARTMENTS)
        per_file.append(
            {"file": name, "rows_read": read_rows, "corsican_rows": int(corsican.sum())}
        )
        frames.append(raw.loc[corsican])
    table = pd.concat(frames, ignore_index=True)
    table = _validate(table, set(commune_codes), rejections)
    before = len(table)
    table = table.drop_duplicates(subset=["year", "number", "department"], keep="first")
    duplicates = before - len(table)
    table = table.sort_values(["alert_time", "year", "number"], kind="mergesort")
    table = table.loc[:, list(COLUMNS)].reset_index(drop=True)
    return Fires(table=table, report=_report(table, per_file, rejections, duplicates))


def _read_file(path: Path, name: str) -> tuple[pd.DataFrame, int]:
    """Parse one BDIFF file into raw string columns with a normalised department code."""
    text = read_text(path, name)
    lines = text.splitlines()
    header = find_header(lines, YEAR, ";", name)
    frame = parse_table("\n".join(lines[header:]), ";", name, columns={*REQUIRED_COLUMNS, CAUSE})
    require_columns(frame, REQUIRED_COLUMNS, name)
    department = frame[DEPARTMENT].str.strip()
    # Some national rows carry unpadded department codes such as "4" for "04".
    department = department.where(~department.str.fullmatch(r"\d"), department.str.zfill(2))
    raw = pd.DataFrame(
        {
            "year": frame[YEAR].str.strip(),
            "number": frame[NUMBER].str.strip(),
            "department": department,
            "commune_code": frame[COMMUNE].str.strip().str.upper(),
            "alert": frame[ALERT].str.strip(),
            "area_m2": frame[AREA],
            "cause": frame[CAUSE].str.strip() if CAUSE in frame.columns else "",
        }
    )
    return raw, len(frame)


def _validate(table: pd.DataFrame, commune_codes: set[str], rejections: Rejections) -> pd.DataFrame:
    year = pd.to_numeric(table["year"], errors="coerce")
    table = rejections.drop(table, year.isna() | (year % 1 != 0), "invalid_year")
    table = table.assign(year=pd.to_numeric(table["year"]).astype("int64"))
    table = rejections.drop(table, table["number"] == "", "missing_number")
    table = rejections.drop(table, ~table["commune_code"].isin(commune_codes), "unknown_commune")
    alert_time = _parse_alert_times(table["alert"])
    table = rejections.drop(table.assign(alert_time=alert_time), alert_time.isna(), "invalid_date")
    area_ha = to_number(table["area_m2"]) / 10_000.0
    table = table.assign(area_ha=area_ha)
    table = rejections.drop(table, area_ha.isna(), "missing_area")
    table = rejections.drop(table, table["area_ha"] < 0, "negative_area")
    table = rejections.drop(table, table["area_ha"] > MAX_AREA_HA, "impossible_area")
    local = table["alert_time"]
    return table.assign(
        alert_time=local.astype(f"datetime64[ns, {TIMEZONE}]"),
        date=local.dt.tz_localize(None).dt.normalize().astype("datetime64[ns]"),
        area_ha=table["area_ha"].astype("float64"),
        number=table["number"].astype("str"),
        department=table["department"].astype("str"),
        commune_code=table["commune_code"].astype("str"),
        cause=table["cause"].fillna("").astype("str"),
    )


def _parse_alert_times(values: pd.Series) -> pd.Series:
    """Parse local alert times in any of `ALERT_FORMATS`, localised to Europe/Paris.

    Times that occur twice (autumn clock change) are read as standard time. Times that do not
    exist (spring clock change) move forward to the next valid time.
    """
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for pattern in ALERT_FORMATS:
        missing = parsed.isna()
        if not missing.any():
            break
        attempt = pd.to_datetime(values[missing], format=pattern, errors="coerce")
        parsed.loc[missing] = attempt.astype("datetime64[ns]")
    return parsed.dt.tz_localize(
        TIMEZONE, ambiguous=np.zeros(len(parsed), dtype=bool), nonexistent="shift_forward"
    )


def _report(
    table: pd.DataFrame, per_file: list[dict[str, Any]], rejections: Rejections, duplicates: int
) -> dict[str, Any]:
    first, last = date_range(table["date"])
    yearly_area = table.groupby("year")["area_ha"].sum()
    return {
        "rows": len(table),
        "first_date": first,
        "last_date": last,
        "files": per_file,
        "rejected": rejections.as_dict(),
        "rejected_total": rejections.total,
        "duplicates_dropped": duplicates,
        "communes_with_fires": int(table["commune_code"].nunique()),
        "years": int(table["year"].nunique()),
        "largest_area_year": int(yearly_area.idxmax()) if not yearly_area.empty else None,
        "total_area_ha": round(float(table["area_ha"].sum()), 1),
    }
