"""`data fetch` downloads against servers on loopback: mirrors, retries, atomic writes."""

from __future__ import annotations

import contextlib
import gzip
import http.server
import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import servers
from tests.data.builders import (
    make_small_folder,
    synop_line,
    write_meteofrance,
    write_synop,
)
from training.data import load_dataset
from training.data.download import download
from training.data.fetch import FetchOptions, fetch_all
from training.errors import DataError

DAILY_COLUMNS = "NUM_POSTE;NOM_USUEL;LAT;LON;ALTI;AAAAMMJJ;RR;QRR;TN;QTN;TX;QTX".split(";")
CALVI = ["20050001", "CALVI", "42.5245", "8.793", "57"]


def _write_mirror(root: Path, url: str) -> None:
    """Lay out copies of the public sources as their servers publish them."""
    small = make_small_folder(root / "small")
    outlines = root / "geojson" / "regions" / "corse" / "communes-corse.geojson"
    outlines.parent.mkdir(parents=True)
    shutil.copy(small / "communes" / "communes-corse.geojson", outlines)
    _write_daily_files(root, url)
    _write_synop_archive(root)


def _write_daily_files(root: Path, url: str) -> None:
    """Write two Q_20 files and a two-page dataset API response that lists them among others."""
    for name, row in [
        (
            "Q_20_previous-1950-2024_RR-T-Vent.csv.gz",
            ["20200701", "1.2", "1", "17", "1", "29", "1"],
        ),
        ("Q_20_latest-2025-2026_RR-T-Vent.csv.gz", ["20250701", "0", "1", "18", "1", "30", "1"]),
    ]:
        write_meteofrance(root / "files", name, DAILY_COLUMNS, [[*CALVI, *row]])

    files = f"{url}files/weather/meteofrance-daily/"
    first_page = {
        "resources": [
            {"url": files + "Q_20_previous-1950-2024_RR-T-Vent.csv.gz"},
            {"url": files + "Q_20_1852-1949_RR-T-Vent.csv.gz"},  # historic: not wanted
            {"url": files + "Q_2A_previous-1950-2024_RR-T-Vent.csv.gz"},  # other department
        ],
        "next_page": f"{url}api/page2.json",
    }
    second_page = {"data": [{"url": files + "Q_20_latest-2025-2026_RR-T-Vent.csv.gz"}]}
    (root / "api").mkdir()
    (root / "api" / "dataset.json").write_text(json.dumps(first_page))
    (root / "api" / "page2.json").write_text(json.dumps(second_page))


def _write_synop_archive(root: Path) -> None:
    """Write one national monthly SYNOP file with a non-Corsican station among Corsica's two."""
    stations = ("07761", "07790", "07149")
    lines = [synop_line(station, "20160101120000", t=290) for station in stations]
    archive = write_synop(root / "archive", "synop.201601.csv.gz", lines)
    shutil.move(archive, root / "synop.201601.csv.gz")


def _options(url: str, destination: Path, **overrides) -> FetchOptions:
    values = {
        "destination": destination,
        "timeout": 5.0,
        "retries": 2,
        "communes_base_url": f"{url}geojson",
        "datagouv_dataset_api": f"{url}api/dataset.json",
        "synop_base_url": url,
        "synop_first_month": "2016-01",
        "synop_last_month": "2016-02",
    }
    return FetchOptions(**(values | overrides))


def test_fetch_downloads_every_source(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    destination = tmp_path / "data"
    with servers.static_http_server(mirror, tmp_path) as server:
        _write_mirror(mirror, server.url)
        summary = fetch_all(_options(server.url, destination))
        again = fetch_all(_options(server.url, destination))
        refreshed = fetch_all(_options(server.url, destination, refresh=True))
    assert sorted(summary.downloaded) == [
        "communes/communes-corse.geojson",
        "weather/meteofrance-daily/Q_20_latest-2025-2026_RR-T-Vent.csv.gz",
        "weather/meteofrance-daily/Q_20_previous-1950-2024_RR-T-Vent.csv.gz",
        "weather/synop/synop.201601.csv.gz",
    ]
    assert summary.not_found == ["weather/synop/synop.201602.csv.gz"]
    assert again.downloaded == []
    assert len(again.skipped) == 4
    assert len(refreshed.downloaded) == 4
    synop = gzip.decompress((destination / "weather/synop/synop.201601.csv.gz").read_bytes())
    stations = [line[:5] for line in synop.decode().splitlines()[1:]]
    assert stations == ["07761", "07790"]


def test_fetched_folder_loads_with_bdiff_added(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    destination = tmp_path / "data"
    with servers.static_http_server(mirror, tmp_path) as server:
        _write_mirror(mirror, server.url)
        fetch_all(_options(server.url, destination))
    shutil.copytree(mirror / "small" / "fires", destination / "fires")
    dataset = load_dataset(str(destination))
    assert "20050001" in set(dataset.stations["station_id"])
    assert dataset.stations.set_index("station_id").loc["20050001", "name"] == "CALVI"
    assert len(dataset.report["weather"]["sources"]["meteofrance-daily"]["files"]) == 2


def test_fetch_unknown_source_raises(tmp_path):
    options = _options("http://127.0.0.1:9/", tmp_path, sources=("bdiff",))
    with pytest.raises(DataError, match=r"unknown source 'bdiff'; expected one of communes"):
        fetch_all(options)


def test_fetch_bad_month_raises(tmp_path):
    options = _options("http://127.0.0.1:9/", tmp_path, sources=("synop",), synop_first_month="16")
    with pytest.raises(DataError, match=r"month '16' is not of the form YYYY-MM"):
        fetch_all(options)


class _FlakyHandler(http.server.BaseHTTPRequestHandler):
    """Return 503 to the first `failures` requests, then the body, after sleeping `delay` s.

    With `truncate`, the body is cut off after half of its announced length.
    """

    failures = 0
    delay = 0.0
    truncate = False
    body = b"payload"
    requests_seen = 0

    def do_GET(self) -> None:  # noqa: N802 (name fixed by BaseHTTPRequestHandler)
        type(self).requests_seen += 1
        time.sleep(self.delay)
        if type(self).requests_seen <= self.failures:
            self.send_response(503)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body[: len(self.body) // 2] if self.truncate else self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _flaky_server(failures: int = 0, delay: float = 0.0, truncate: bool = False) -> Iterator[str]:
    attributes = {"failures": failures, "delay": delay, "truncate": truncate}
    handler = type("Handler", (_FlakyHandler,), attributes)
    server = http.server.ThreadingHTTPServer((servers.LOOPBACK, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{servers.LOOPBACK}:{server.server_address[1]}/file"
    finally:
        server.shutdown()
        server.server_close()


def test_download_retries_server_errors(tmp_path):
    destination = tmp_path / "out" / "file"
    with _flaky_server(failures=2) as url:
        size = download(url, destination, timeout=5, retries=3)
    assert size == len(b"payload")
    assert destination.read_bytes() == b"payload"


def test_download_gives_up_on_server_errors(tmp_path):
    destination = tmp_path / "out" / "file"
    with _flaky_server(failures=5) as url:
        with pytest.raises(DataError, match=r"GET http://127\.0\.0\.1:\d+/file returned HTTP 503"):
            download(url, destination, timeout=5, retries=2)
    assert not destination.exists()


def test_download_cut_off_leaves_no_file(tmp_path):
    destination = tmp_path / "out" / "file"
    destination.parent.mkdir()
    with _flaky_server(truncate=True) as url:
        with pytest.raises(DataError, match=r"the transfer failed after 2 attempt\(s\)"):
            download(url, destination, timeout=5, retries=2)
    assert list(destination.parent.iterdir()) == []


def test_download_times_out(tmp_path):
    destination = tmp_path / "file"
    with _flaky_server(delay=2.0) as url:
        with pytest.raises(DataError, match=r"failed after 2 attempt\(s\).*FIRE_HTTP_TIMEOUT"):
            download(url, destination, timeout=0.3, retries=2)
    assert not destination.exists()
