"""FIRE_DATA_URI kinds: a local folder, an HTTP base URL and an S3 prefix give the same data."""

from __future__ import annotations

import json
import os
import shutil
import uuid

import boto3
import pandas as pd
import pytest

from tests import servers
from tests.data.builders import make_small_folder
from training.data import load_dataset
from training.data.publish import layout_files, write_manifest
from training.data.remote import parse_listing, parse_manifest
from training.errors import DataError


def _without_uri(report: dict) -> dict:
    return {key: value for key, value in report.items() if key != "uri"}


def _assert_same_dataset(left, right) -> None:
    assert left.digest == right.digest
    assert _without_uri(left.report) == _without_uri(right.report)
    pd.testing.assert_frame_equal(left.communes, right.communes)
    pd.testing.assert_frame_equal(left.fires, right.fires)
    pd.testing.assert_frame_equal(left.stations, right.stations)
    pd.testing.assert_frame_equal(left.weather, right.weather)


def _upload(folder, bucket: str, prefix: str, endpoint: str) -> None:
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket=bucket)
    for relative_path in layout_files(folder):
        client.upload_file(str(folder / relative_path), bucket, f"{prefix}/{relative_path}")


def test_http_url_matches_folder(shared_data_dir, real_dataset, tmp_path):
    with servers.static_http_server(shared_data_dir, tmp_path) as server:
        dataset = load_dataset(server.url)
    assert dataset.uri == server.url
    _assert_same_dataset(dataset, real_dataset)


def test_s3_prefix_matches_folder(shared_data_dir, real_dataset, s3_endpoint):
    bucket = f"data-{uuid.uuid4().hex[:8]}"
    _upload(shared_data_dir, bucket, "corsica/v1", s3_endpoint)
    dataset = load_dataset(f"s3://{bucket}/corsica/v1")
    _assert_same_dataset(dataset, real_dataset)


def test_setting_gives_default_uri(tmp_path, monkeypatch):
    folder = make_small_folder(tmp_path / "data")
    monkeypatch.setenv("FIRE_DATA_URI", str(folder))
    dataset = load_dataset()
    assert dataset.uri == str(folder)
    assert len(dataset.fires) == 3


def test_http_cache_revalidates(tmp_path, monkeypatch):
    folder = make_small_folder(tmp_path / "data")
    cache = tmp_path / "cache"
    monkeypatch.setenv("FIRE_DATA_CACHE_DIR", str(cache))
    with servers.static_http_server(folder, tmp_path) as server:
        first = load_dataset(server.url)
        cached = sorted(path for path in cache.rglob("*.csv") if path.is_file())
        assert len(cached) == 1
        cached_mtime = cached[0].stat().st_mtime_ns
        assert load_dataset(server.url).digest == first.digest
        assert cached[0].stat().st_mtime_ns == cached_mtime  # 304: not downloaded again
        fires = folder / "fires" / "fires.csv"
        fires.write_text(fires.read_text().replace("20000", "30000"))
        # Last-Modified has a resolution of one second: move the change clearly later.
        later = fires.stat().st_mtime + 10
        os.utime(fires, (later, later))
        changed = load_dataset(server.url)
    assert changed.digest != first.digest
    assert changed.fires["area_ha"].iloc[0] == 3.0


def test_http_manifest_lists_files(tmp_path):
    folder = make_small_folder(tmp_path / "data")
    # A file outside the manifest is not read, although the server lists it.
    extra = folder / "fires" / "not-in-manifest.csv"
    write_manifest(folder)
    shutil.copy(folder / "fires" / "fires.csv", extra)
    with servers.static_http_server(folder, tmp_path) as server:
        dataset = load_dataset(server.url)
    assert "fires/not-in-manifest.csv" not in dataset.report["files"]
    assert dataset.report["fires"]["duplicates_dropped"] == 0
    assert dataset.digest == json.loads((folder / "manifest.json").read_text())["digest"]


def test_http_manifest_mismatch_raises(tmp_path):
    folder = make_small_folder(tmp_path / "data")
    write_manifest(folder)
    fires = folder / "fires" / "fires.csv"
    fires.write_text(fires.read_text() + "\n")
    with servers.static_http_server(folder, tmp_path) as server:
        with pytest.raises(DataError, match=r"fires\.csv: sha256 \w+ differs from \w+ in manifest"):
            load_dataset(server.url)


def test_http_without_communes_raises(tmp_path):
    folder = make_small_folder(tmp_path / "data")
    (folder / "communes" / "communes-corse.geojson").unlink()
    with servers.static_http_server(folder, tmp_path) as server:
        with pytest.raises(DataError, match=r"communes-corse\.geojson: file not found in 'http"):
            load_dataset(server.url)


def test_s3_missing_bucket_raises(s3_endpoint):
    with pytest.raises(
        DataError, match=r"s3://no-such-bucket-\w+/data/communes/: S3 request failed"
    ):
        load_dataset(f"s3://no-such-bucket-{uuid.uuid4().hex[:6]}/data")


def test_s3_uri_without_bucket_raises(s3_endpoint):
    with pytest.raises(DataError, match=r"'s3:///data' is not an S3 URI"):
        load_dataset("s3:///data")


def test_missing_folder_raises(tmp_path):
    with pytest.raises(DataError, match=r"data folder '.*nowhere' not found; set FIRE_DATA_URI"):
        load_dataset(str(tmp_path / "nowhere"))


def test_folder_without_fires_raises(tmp_path):
    folder = make_small_folder(tmp_path / "data")
    (folder / "fires" / "fires.csv").unlink()
    with pytest.raises(DataError, match=r"fires/: no BDIFF file .*//bdiff\.agriculture\.gouv\.fr"):
        load_dataset(str(folder))


def test_digest_covers_paths_and_contents(tmp_path):
    folder = make_small_folder(tmp_path / "data")
    before = load_dataset(str(folder)).digest
    (folder / "fires" / "fires.csv").rename(folder / "fires" / "renamed.csv")
    renamed = load_dataset(str(folder)).digest
    assert renamed != before
    assert len(before) == 64


def test_listing_keeps_direct_files_only():
    html = """<html><body>
    <a href="?C=N;O=D">Name</a> <a href="/data/">Parent Directory</a>
    <a href="2020/">2020/</a> <a href="bdiff%20export.csv">bdiff export.csv</a>
    <a href="/data/fires/national.csv.gz">national.csv.gz</a>
    <a href="http://elsewhere.example/data/fires/x.csv">x.csv</a>
    </body></html>"""
    names = parse_listing(html, "http://127.0.0.1:8000/data/fires/")
    assert names == ["bdiff export.csv", "national.csv.gz"]


def test_invalid_manifest_raises():
    with pytest.raises(DataError, match=r"manifest\.json: invalid manifest .*data manifest"):
        parse_manifest(b'{"files": [{"size": 3}]}', "manifest.json")
