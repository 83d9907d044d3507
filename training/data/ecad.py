"""ECA&D blended daily precipitation series (`RR_STAID*.txt`), rain only.

About 20 header lines precede a comma-separated table `STAID, SOUID, DATE, RR, Q_RR` padded with
spaces. RR is in 0.1 mm for the day 06 UTC D to 06 UTC D+1; -9999 or Q_RR = 9 means missing and
Q_RR = 1 means suspect, which is rejected. Source: Klein Tank et al. 2002, Int. J. Climatol. 22,
1441-1453; the data may be used for non-commercial research and education only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from training.data.report import Rejections
from training.data.synop import SourceDays
from training.data.textfiles import find_header, parse_table, read_text, require_columns, to_number

REQUIRED_COLUMNS = ("STAID", "DATE", "RR", "Q_RR")
MISSING = -9999
MAX_RAIN_MM = 800.0


def load_ecad(files: Sequence[tuple[Path, str]], stations: Mapping[int, str]) -> SourceDays:
    """Read ECA&D rain files for the stations in `stations` (STAID -> station id)."""
    rejections = Rejections("ecad")
    frames = []
    skipped = []
    for path, name in files:
        frame = _read_file(path, name)
        staid = pd.to_numeric(frame["STAID"], errors="coerce")
        station_id = staid.map(stations)
        if station_id.isna().all():
            skipped.append(name)
            continue
        frames.append(_clean(frame.assign(station_id=station_id), rejections))
    days = pd.concat(frames, ignore_index=True) if frames else _empty_days()
    report = {
        "files": [name for _, name in files],
        "files_unknown_station": skipped,
        "rejected": rejections.as_dict(),
        "days": int(days["rain_mm"].notna().sum()),
    }
    return SourceDays(days=days, report=report)


def _empty_days() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "station_id": pd.Series(dtype="str"),
            "date": pd.Series(dtype="datetime64[ns]"),
            "rain_mm": pd.Series(dtype="float64"),
        }
    )


def _read_file(path: Path, name: str) -> pd.DataFrame:
    lines = read_text(path, name).splitlines()
    header = find_header(lines, "STAID", ",", name, max_preamble=40)
    frame = parse_table("\n".join(lines[header:]), ",", name)
    require_columns(frame, REQUIRED_COLUMNS, name)
    return frame


def _clean(frame: pd.DataFrame, rejections: Rejections) -> pd.DataFrame:
    frame = rejections.drop(frame, frame["station_id"].isna(), "unknown_station")
    date = pd.to_datetime(frame["DATE"].str.strip(), format="%Y%m%d", errors="coerce")
    frame = rejections.drop(frame.assign(date=date), date.isna(), "invalid_date")
    raw = to_number(frame["RR"])
    quality = to_number(frame["Q_RR"])
    missing = raw.isna() | (raw == MISSING) | (quality == 9)
    suspect = ~missing & (quality == 1)
    rejections.count("suspect", int(suspect.sum()))
    rain = (raw / 10.0).mask(missing | suspect)
    impossible = rain.notna() & ((rain < 0) | (rain > MAX_RAIN_MM))
    rejections.count("impossible_rain", int(impossible.sum()))
    before = len(frame)
    days = pd.DataFrame(
        {
            "station_id": frame["station_id"].astype("str"),
            "date": frame["date"].astype("datetime64[ns]"),
            "rain_mm": rain.mask(impossible).astype("float64"),
        }
    ).drop_duplicates(subset=["station_id", "date"], keep="first")
    rejections.count("duplicate_date", before - len(days))
    return days
