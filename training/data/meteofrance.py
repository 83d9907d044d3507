"""Météo-France daily climatological files for department 20 (`Q_20_*.csv.gz`).

Two families share the key columns `NUM_POSTE;NOM_USUEL;LAT;LON;ALTI;AAAAMMJJ`: `RR-T-Vent`
(RR mm over 06 UTC D to 06 UTC D+1, TN and TX in °C, FXY the max 10-minute mean wind in m/s) and
`autres-parametres` (UN, the min relative humidity in %). Each value has a quality flag `Q<name>`
where 2 means doubtful; doubtful values are rejected.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from training.data.report import Rejections
from training.data.synop import SourceDays
from training.data.textfiles import find_header, parse_table, read_text, require_columns, to_number
from training.errors import DataError

KEY_COLUMNS = ("NUM_POSTE", "NOM_USUEL", "LAT", "LON", "ALTI", "AAAAMMJJ")
VARIABLES = {
    "RR": "rain_mm",
    "TX": "tx_c",
    "TN": "tn_c",
    "UN": "rh_min_pct",
    "FXY": "wind_max_ms",
}
LIMITS = {
    "rain_mm": (0.0, 800.0),
    "tx_c": (-40.0, 50.0),
    "tn_c": (-40.0, 50.0),
    "rh_min_pct": (0.0, 100.0),
    "wind_max_ms": (0.0, 75.0),
}
DOUBTFUL = 2


def load_meteofrance(files: Sequence[tuple[Path, str]]) -> tuple[SourceDays, pd.DataFrame]:
    """Read daily files; return their daily values and the stations they describe."""
    rejections = Rejections("meteofrance-daily")
    frames = [_read_file(path, name, rejections) for path, name in files]
    if frames:
        merged = pd.concat(frames, ignore_index=True)
        # RR-T-Vent and autres-parametres rows of the same station-day become one row.
        days = merged.groupby(["station_id", "date"], as_index=False).first()
    else:
        days = pd.DataFrame(
            {"station_id": pd.Series(dtype="str"), "date": pd.Series(dtype="datetime64[ns]")}
        )
    stations = _stations(frames)
    report = {
        "files": [name for _, name in files],
        "rejected": rejections.as_dict(),
        "days": len(days),
        "stations": len(stations),
    }
    days = days.drop(columns=_station_columns(), errors="ignore")
    return SourceDays(days=days, report=report), stations


def _station_columns() -> list[str]:
    return ["name", "lat", "lon", "altitude"]


def _read_file(path: Path, name: str, rejections: Rejections) -> pd.DataFrame:
    lines = read_text(path, name).splitlines()
    header = find_header(lines, "NUM_POSTE", ";", name, max_preamble=0)
    columns = {*KEY_COLUMNS, *VARIABLES, *(f"Q{column}" for column in VARIABLES)}
    frame = parse_table("\n".join(lines[header:]), ";", name, columns=columns)
    require_columns(frame, KEY_COLUMNS, name)
    present = [column for column in VARIABLES if column in frame.columns]
    if not present:
        expected = ", ".join(VARIABLES)
        raise DataError(
            f"{name}: none of the columns {expected} found; this is not a Météo-France "
            "daily file of the RR-T-Vent or autres-parametres family."
        )
    date = pd.to_datetime(frame["AAAAMMJJ"].str.strip(), format="%Y%m%d", errors="coerce")
    frame = rejections.drop(frame.assign(date=date), date.isna(), "invalid_date")
    days = pd.DataFrame(
        {
            "station_id": frame["NUM_POSTE"].str.strip().str.zfill(8).astype("str"),
            "date": frame["date"].astype("datetime64[ns]"),
            "name": frame["NOM_USUEL"].str.strip().astype("str"),
            "lat": to_number(frame["LAT"]),
            "lon": to_number(frame["LON"]),
            "altitude": to_number(frame["ALTI"]),
        }
    )
    for column in present:
        days[VARIABLES[column]] = _checked_values(frame, column, rejections)
    return days


def _checked_values(frame: pd.DataFrame, column: str, rejections: Rejections) -> pd.Series:
    values = to_number(frame[column])
    quality_column = f"Q{column}"
    if quality_column in frame.columns:
        doubtful = values.notna() & (to_number(frame[quality_column]) == DOUBTFUL)
        rejections.count(f"doubtful_{VARIABLES[column]}", int(doubtful.sum()))
        values = values.mask(doubtful)
    low, high = LIMITS[VARIABLES[column]]
    impossible = values.notna() & ((values < low) | (values > high))
    rejections.count(f"impossible_{VARIABLES[column]}", int(impossible.sum()))
    return values.mask(impossible)


def _stations(frames: list[pd.DataFrame]) -> pd.DataFrame:
    columns = ["station_id", *_station_columns()]
    if not frames:
        return pd.DataFrame({column: pd.Series(dtype="str") for column in columns})
    stations = pd.concat([frame.loc[:, columns] for frame in frames], ignore_index=True)
    return stations.drop_duplicates(subset="station_id", keep="last").reset_index(drop=True)
