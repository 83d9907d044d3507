"""BDIFF fire files: formats users download, rejections per reason, fatal errors."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from tests.data.builders import FIRE_HEADER, fire_line, write_fires, write_text_file
from training.data.fires import load_fires
from training.errors import DataError

CODES = ["2A001", "2A004", "2B002"]


def _load(*paths):
    return load_fires([(path, path.name) for path in paths], CODES)


def test_corsica_extract_types_and_order(tmp_path):
    path = write_fires(
        tmp_path,
        "extract.csv",
        [
            fire_line(2020, 7, "2B", "2B002", "03/07/2020 01:30", 10000, "Naturelle"),
            fire_line(2020, 5, "2A", "2A001", "01/07/2020 14:00", 25000),
        ],
    )
    fires = _load(path)
    table = fires.table
    assert list(table["number"]) == ["5", "7"]
    assert str(table["alert_time"].dtype) == "datetime64[ns, Europe/Paris]"
    assert str(table["date"].dtype) == "datetime64[ns]"
    assert table["year"].dtype == "int64"
    assert list(table["area_ha"]) == [2.5, 1.0]
    assert list(table["cause"]) == ["", "Naturelle"]
    assert fires.report["rows"] == 2
    assert fires.report["first_date"] == "2020-07-01"


def test_date_is_local_calendar_day(tmp_path):
    # 01:30 in Paris on 3 July is still 2 July in UTC; the date column keeps the local day.
    path = write_fires(
        tmp_path, "f.csv", [fire_line(2020, 1, "2B", "2B002", "03/07/2020 01:30", 1)]
    )
    table = _load(path).table
    assert table["date"].iloc[0] == pd.Timestamp("2020-07-03")
    assert table["alert_time"].iloc[0].tz_convert("UTC") == pd.Timestamp("2020-07-02 23:30Z")


def test_clock_change_times_are_kept(tmp_path):
    lines = [
        fire_line(2021, 1, "2A", "2A001", "28/03/2021 02:30", 1),  # does not exist in Paris
        fire_line(2021, 2, "2A", "2A001", "31/10/2021 02:30", 1),  # occurs twice in Paris
    ]
    fires = _load(write_fires(tmp_path, "f.csv", lines))
    assert fires.report["rows"] == 2
    assert fires.report["rejected"] == {}


def test_national_file_keeps_corsica_only(tmp_path):
    lines = [
        fire_line(2020, 1, "4", "4043", "01/07/2020 10:00", 100),
        fire_line(2020, 2, "13", "13001", "01/07/2020 11:00", 100),
        fire_line(2020, 3, "2A", "2A004", "01/07/2020 12:00", 100),
        fire_line(2020, 4, "2B", "2B002", "01/07/2020 13:00", 100),
    ]
    path = write_fires(tmp_path, "Incendies_2020_2024.csv.gz", lines)
    fires = _load(path)
    assert list(fires.table["commune_code"]) == ["2A004", "2B002"]
    assert fires.report["files"][0]["rows_read"] == 4
    assert fires.report["files"][0]["corsican_rows"] == 2
    assert fires.report["rejected"] == {}


def test_web_export_with_preamble_iso_dates_cp1252(tmp_path):
    preamble = [
        '"Nombre d\'incendies suivant les critères de sélection : 2"',
        '"Critères de sélection =>";"Départements : 2A, 2B"',
        '"Année(s) : 2024"',
        "Année : 2024",
        '"A noter : les surfaces sont en m²"',
        "",
    ]
    lines = [
        fire_line(2024, 10, "2A", "2A001", "2024-08-01 16:45:00", 3000, "Involontaire (travaux)"),
        fire_line(2024, 11, "2B", "2B002", "2024-08-02 09:00:00", 4000),
    ]
    path = write_fires(tmp_path, "export.csv", lines, preamble=preamble, encoding="cp1252")
    table = _load(path).table
    assert list(table["number"]) == ["10", "11"]
    assert table["cause"].iloc[0] == "Involontaire (travaux)"
    assert table["alert_time"].iloc[0] == pd.Timestamp("2024-08-01 16:45", tz="Europe/Paris")


def test_same_fire_in_two_files_counts_once(tmp_path):
    shared = fire_line(2020, 1, "2A", "2A001", "01/07/2020 14:00", 100)
    first = write_fires(tmp_path, "a.csv", [shared])
    second = write_fires(
        tmp_path, "b.csv.gz", [shared, fire_line(2020, 2, "2A", "2A001", "01/07/2020 15:00", 1)]
    )
    fires = _load(first, second)
    assert fires.report["rows"] == 2
    assert fires.report["duplicates_dropped"] == 1


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (fire_line("20x0", 1, "2A", "2A001", "01/07/2020 14:00", 1), "invalid_year"),
        (fire_line(2020, "", "2A", "2A001", "01/07/2020 14:00", 1), "missing_number"),
        (fire_line(2020, 1, "2A", "2A999", "01/07/2020 14:00", 1), "unknown_commune"),
        (fire_line(2020, 1, "2A", "2A001", "31/02/2020 14:00", 1), "invalid_date"),
        (fire_line(2020, 1, "2A", "2A001", "yesterday", 1), "invalid_date"),
        (fire_line(2020, 1, "2A", "2A001", "01/07/2020 14:00", ""), "missing_area"),
        (fire_line(2020, 1, "2A", "2A001", "01/07/2020 14:00", -5), "negative_area"),
        (fire_line(2020, 1, "2A", "2A001", "01/07/2020 14:00", 10**13), "impossible_area"),
    ],
)
def test_rejected_row_counted_by_reason(tmp_path, line, reason):
    good = fire_line(2020, 9, "2A", "2A004", "02/07/2020 14:00", 1)
    fires = _load(write_fires(tmp_path, "f.csv", [line, good]))
    assert fires.report["rows"] == 1
    assert fires.report["rejected"] == {reason: 1}
    assert fires.report["rejected_total"] == 1


def test_missing_column_raises(tmp_path):
    header = FIRE_HEADER.replace("Surface parcourue (m2)", "Surface")
    path = write_text_file(tmp_path / "fires" / "f.csv", header + "\n")
    with pytest.raises(DataError, match=r"f\.csv: missing column\(s\) 'Surface parcourue \(m2\)'"):
        _load(path)


def test_wrong_separator_raises(tmp_path):
    text = FIRE_HEADER.replace(";", ",") + "\n" + fire_line(2020, 1, "2A", "2A001", "x", 1)
    path = write_text_file(tmp_path / "fires" / "f.csv", text.replace(";", ","))
    with pytest.raises(DataError, match=r"f\.csv: line 1 is separated by ',', expected ';'"):
        _load(path)


def test_truncated_gzip_raises(tmp_path):
    path = write_fires(tmp_path, "f.csv.gz", [fire_line(2020, 1, "2A", "2A001", "x", 1)] * 200)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(DataError, match=r"f\.csv\.gz: invalid or truncated gzip file"):
        _load(path)


def test_not_gzip_raises(tmp_path):
    path = tmp_path / "fires" / "f.csv.gz"
    path.parent.mkdir()
    path.write_text(FIRE_HEADER)
    with pytest.raises(DataError, match=r"f\.csv\.gz: invalid or truncated gzip file"):
        _load(path)


def test_empty_file_raises(tmp_path):
    path = write_text_file(tmp_path / "fires" / "f.csv", "")
    with pytest.raises(DataError, match=r"f\.csv: the file is empty"):
        _load(path)


def test_empty_gzip_raises(tmp_path):
    path = tmp_path / "fires" / "f.csv.gz"
    path.parent.mkdir()
    path.write_bytes(gzip.compress(b"\n"))
    with pytest.raises(DataError, match=r"f\.csv\.gz: the file is empty"):
        _load(path)


def test_header_not_found_raises(tmp_path):
    path = write_text_file(tmp_path / "fires" / "f.csv", "a;b;c\n1;2;3\n")
    with pytest.raises(DataError, match=r"f\.csv: no header line starting with 'Année'"):
        _load(path)


def test_no_fire_file_raises():
    with pytest.raises(DataError, match=r"fires/: no BDIFF file"):
        load_fires([], CODES)
