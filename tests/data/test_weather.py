"""Daily weather: SYNOP conventions, ECA&D, Météo-France daily files and the merge."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.data.builders import (
    synop_line,
    write_ecad,
    write_meteofrance,
    write_synop,
    write_text_file,
)
from training.data.ecad import load_ecad
from training.data.meteofrance import load_meteofrance
from training.data.synop import load_synop
from training.data.weather import (
    ECAD_STATIONS,
    SYNOP_STATIONS,
    VARIABLES,
    WeatherFiles,
    load_weather,
)
from training.errors import DataError

AJACCIO, BASTIA, CALVI = "20004002", "20148001", "20050001"
KELVIN = 273.15


def _ajaccio_lines() -> list[str]:
    """Reports of Ajaccio from 06 UTC on 1 July 2020 to 06 UTC on 2 July."""
    day, next_day = "20200701", "20200702"
    return [
        synop_line("07761", f"{day}060000", tn12=KELVIN + 15, rr12=2.0, t=KELVIN + 17, u=80, ff=2),
        synop_line("07761", f"{day}090000", t=KELVIN + 22, u=60, ff=3, rr3=0),
        synop_line("07761", f"{day}120000", t=KELVIN + 27, u=40, ff=5, rr3=0),
        synop_line("07761", f"{day}150000", t=KELVIN + 29, u=30, ff=6, rr3=0),
        synop_line("07761", f"{day}180000", tx12=KELVIN + 30, rr12=1.5, t=KELVIN + 25, u=50, ff=4),
        synop_line("07761", f"{day}210000", t=KELVIN + 20, u=70, ff=2, rr3=0),
        synop_line("07761", f"{next_day}000000", t=KELVIN + 18, u=75, ff=1),
        synop_line("07761", f"{next_day}030000", t=KELVIN + 17, u=80, ff=1),
        synop_line("07761", f"{next_day}060000", tn12=KELVIN + 14, rr12=-0.1, t=KELVIN + 18, u=85),
    ]


def _bastia_lines() -> list[str]:
    """Bastia without tx12 or rr12: tx comes from t, rain from the eight rr3."""
    times = ["20200701" + hour for hour in ("090000", "120000", "150000", "180000", "210000")]
    times += ["20200702" + hour for hour in ("000000", "030000", "060000")]
    lines = [synop_line("07790", time, rr3=0.5, t=KELVIN + 20) for time in times]
    lines.append(synop_line("07790", "20200701060000", t=KELVIN + 19))
    return lines


def _synop(tmp_path, lines):
    path = write_synop(tmp_path, "synop.202007.csv.gz", lines)
    return load_synop([(path, path.name)], SYNOP_STATIONS)


def _day(days: pd.DataFrame, station: str, date: str) -> pd.Series:
    rows = days.loc[(days["station_id"] == station) & (days["date"] == pd.Timestamp(date))]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_synop_daily_conventions(tmp_path):
    days = _synop(tmp_path, _ajaccio_lines()).days
    first = _day(days, AJACCIO, "2020-07-01")
    assert first["tx_c"] == pytest.approx(30.0)
    assert first["tn_c"] == pytest.approx(15.0)
    assert first["rain_mm"] == pytest.approx(1.5)  # 1.5 mm, then a trace counted as 0
    assert first["t12_c"] == pytest.approx(27.0)
    assert first["rh12_pct"] == 40
    assert first["wind12_ms"] == 5
    assert first["rh_min_pct"] == 30
    assert first["wind_max_ms"] == 6


def test_synop_incomplete_day_is_missing(tmp_path):
    days = _synop(tmp_path, _ajaccio_lines()).days
    second = _day(days, AJACCIO, "2020-07-02")
    assert second["tn_c"] == pytest.approx(14.0)
    assert math.isnan(second["tx_c"])
    assert math.isnan(second["rain_mm"])
    assert math.isnan(second["rh_min_pct"])  # three reports only
    previous = _day(days, AJACCIO, "2020-06-30")
    assert math.isnan(previous["rain_mm"])  # one rr12 of the two


def test_synop_fallbacks_from_t_and_rr3(tmp_path):
    days = _synop(tmp_path, _bastia_lines()).days
    first = _day(days, BASTIA, "2020-07-01")
    assert first["tx_c"] == pytest.approx(20.0)
    assert first["rain_mm"] == pytest.approx(4.0)


def test_synop_rejections_counted(tmp_path):
    lines = _ajaccio_lines()
    lines += [
        lines[0],  # the same report twice
        synop_line("07761", "20200701230000", u=150),  # impossible humidity
        synop_line("07761", "2020-07-01", t=290),  # invalid time
        synop_line("07643", "20200701120000", t=290),  # another station
    ]
    source = _synop(tmp_path, lines)
    assert source.report["rejected"] == {
        "duplicate_timestamp": 1,
        "impossible_u": 1,
        "invalid_date": 1,
    }
    assert source.report["rows_other_stations"] == 1


def test_synop_missing_column_raises(tmp_path):
    path = write_text_file(tmp_path / "s.csv.gz", "numer_sta;date;t;\n07761;20200701000000;290;\n")
    with pytest.raises(DataError, match=r"s\.csv\.gz: missing column\(s\) 'u'"):
        load_synop([(path, "s.csv.gz")], SYNOP_STATIONS)


def test_synop_wrong_separator_raises(tmp_path):
    path = write_text_file(tmp_path / "s.csv", "numer_sta,date,t\n07761,20200701000000,290\n")
    with pytest.raises(DataError, match=r"s\.csv: line 1 is separated by ','"):
        load_synop([(path, "s.csv")], SYNOP_STATIONS)


def test_ecad_units_missing_and_suspect(tmp_path):
    rows = [("20200701", 123, 0), ("20200702", -9999, 9), ("20200703", 40, 1), ("20200704", 0, 0)]
    path = write_ecad(tmp_path, 2209, rows)
    source = load_ecad([(path, path.name)], ECAD_STATIONS)
    rain = source.days.set_index("date")["rain_mm"]
    assert rain[pd.Timestamp("2020-07-01")] == pytest.approx(12.3)
    assert math.isnan(rain[pd.Timestamp("2020-07-02")])
    assert math.isnan(rain[pd.Timestamp("2020-07-03")])
    assert rain[pd.Timestamp("2020-07-04")] == 0
    assert source.report["rejected"] == {"suspect": 1}
    assert set(source.days["station_id"]) == {AJACCIO}


def test_ecad_unknown_station_skipped(tmp_path):
    path = write_ecad(tmp_path, 11, [("20200701", 10, 0)])
    source = load_ecad([(path, path.name)], ECAD_STATIONS)
    assert source.days.empty
    assert source.report["files_unknown_station"] == [path.name]


def test_ecad_without_table_header_raises(tmp_path):
    path = write_text_file(tmp_path / "RR_STAID002209.txt", "no table here\n")
    with pytest.raises(DataError, match=r"no header line starting with 'STAID'"):
        load_ecad([(path, path.name)], ECAD_STATIONS)


RR_T_VENT = (
    "NUM_POSTE;NOM_USUEL;LAT;LON;ALTI;AAAAMMJJ;RR;QRR;TN;HTN;QTN;TX;HTX;QTX;FFM;QFFM;FXY;QFXY"
).split(";")
OTHER_PARAMETERS = "NUM_POSTE;NOM_USUEL;LAT;LON;ALTI;AAAAMMJJ;UN;QUN;UX;QUX".split(";")


def _meteofrance_files(tmp_path):
    ajaccio = [AJACCIO, "AJACCIO", "41.918", "8.792667", "5"]
    calvi = [CALVI, "CALVI", "42.5245", "8.7930", "57"]
    write_meteofrance(
        tmp_path,
        "Q_20_previous-1950-2024_RR-T-Vent.csv.gz",
        RR_T_VENT,
        [
            [
                *ajaccio,
                "20200701",
                "0.4",
                "1",
                "16.0",
                "",
                "1",
                "31.0",
                "",
                "1",
                "3",
                "1",
                "7",
                "1",
            ],
            [*ajaccio, "20200702", "", "", "20.0", "", "1", "10.0", "", "1", "", "", "", ""],
            [*calvi, "20200701", "0", "1", "15", "", "1", "45.5", "", "2", "2", "1", "6", "1"],
        ],
    )
    write_meteofrance(
        tmp_path,
        "Q_20_previous-1950-2024_autres-parametres.csv.gz",
        OTHER_PARAMETERS,
        [[*ajaccio, "20200701", "25", "1", "90", "1"], [*calvi, "20200701", "120", "1", "", ""]],
    )
    folder = tmp_path / "weather" / "meteofrance-daily"
    return [(path, path.name) for path in sorted(folder.iterdir())]


def test_meteofrance_daily_parser(tmp_path):
    source, stations = load_meteofrance(_meteofrance_files(tmp_path))
    first = _day(source.days, AJACCIO, "2020-07-01")
    assert first["rain_mm"] == pytest.approx(0.4)
    assert first["tx_c"] == 31.0
    assert first["tn_c"] == 16.0
    assert first["rh_min_pct"] == 25
    assert first["wind_max_ms"] == 7
    calvi = _day(source.days, CALVI, "2020-07-01")
    assert math.isnan(calvi["tx_c"])  # quality flag 2: doubtful
    assert math.isnan(calvi["rh_min_pct"])  # 120 %
    assert source.report["rejected"] == {"doubtful_tx_c": 1, "impossible_rh_min_pct": 1}
    assert list(stations["station_id"]) == [AJACCIO, CALVI]
    assert stations.set_index("station_id").loc[CALVI, "altitude"] == 57


def test_meteofrance_without_variables_raises(tmp_path):
    path = write_meteofrance(
        tmp_path, "Q_20_x.csv.gz", ["NUM_POSTE", "NOM_USUEL", "LAT", "LON", "ALTI", "AAAAMMJJ"], []
    )
    with pytest.raises(DataError, match=r"none of the columns RR, TX, TN, UN, FXY found"):
        load_meteofrance([(path, path.name)])


def test_merge_priority_and_checks(tmp_path):
    synop = write_synop(tmp_path, "synop.202007.csv.gz", _ajaccio_lines())
    ecad = write_ecad(tmp_path, 2209, [("20200629", 50, 0), ("20200701", 99, 0)])
    weather = load_weather(
        WeatherFiles(
            meteofrance=_meteofrance_files(tmp_path),
            synop=[(synop, synop.name)],
            ecad=[(ecad, ecad.name)],
        )
    )
    days = weather.days
    first = _day(days, AJACCIO, "2020-07-01")
    assert first["rain_mm"] == pytest.approx(0.4)  # Météo-France daily over SYNOP over ECA&D
    assert first["tx_c"] == 31.0
    assert first["t12_c"] == pytest.approx(27.0)  # only SYNOP has it
    assert _day(days, AJACCIO, "2020-06-29")["rain_mm"] == pytest.approx(5.0)  # only ECA&D
    second = _day(days, AJACCIO, "2020-07-02")
    assert math.isnan(second["tx_c"])  # tx 10 below tn 20: both rejected
    assert math.isnan(second["tn_c"])
    assert weather.report["rejected"] == {"tx_below_tn": 1}
    assert weather.report["source_priority"] == "meteofrance-daily > synop > ecad"
    assert list(weather.stations["station_id"]) == [AJACCIO, CALVI]
    assert list(days.columns) == ["station_id", "date", *VARIABLES]


def test_calendar_has_every_day(tmp_path):
    ecad = write_ecad(tmp_path, 758, [("20200101", 10, 0), ("20200110", 20, 0)])
    weather = load_weather(WeatherFiles(ecad=[(ecad, ecad.name)]))
    assert len(weather.days) == 10
    assert weather.days["rain_mm"].notna().sum() == 2
    assert list(weather.stations["name"]) == ["BASTIA"]
    assert weather.report["first_date"] == "2020-01-01"
    assert weather.report["last_date"] == "2020-01-10"
