"""`data push` and `data manifest`: sharing a local data folder through S3 or HTTP."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from tests.data.builders import make_small_folder
from training.data import load_dataset
from training.data.publish import build_manifest, push_folder, write_manifest
from training.errors import DataError


def _bucket(endpoint: str) -> str:
    name = f"push-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=name)
    return name


def test_manifest_lists_layout_files_only(tmp_path):
    folder = make_small_folder(tmp_path / "data")
    (folder / "notes.txt").write_text("not data")
    (folder / "fires" / "README.md").write_text("not data")
    manifest = json.loads(write_manifest(folder).read_text())
    paths = [entry["path"] for entry in manifest["files"]]
    assert paths == [
        "communes/communes-corse.geojson",
        "fires/fires.csv",
        "weather/ecad/RR_STAID002209.txt",
        "weather/synop/synop.202007.csv.gz",
    ]
    assert manifest["digest"] == load_dataset(str(folder)).digest
    assert all(len(entry["sha256"]) == 64 and entry["size"] > 0 for entry in manifest["files"])


def test_push_then_load_from_s3(tmp_path, s3_endpoint):
    folder = make_small_folder(tmp_path / "data")
    bucket = _bucket(s3_endpoint)
    first = push_folder(folder, f"s3://{bucket}/team/data")
    second = push_folder(folder, f"s3://{bucket}/team/data")
    assert first["uploaded"] == 4
    assert second == {"uploaded": 0, "unchanged": 4, "digest": first["digest"]}
    dataset = load_dataset(f"s3://{bucket}/team/data")
    assert dataset.digest == load_dataset(str(folder)).digest == first["digest"]
    body = (
        boto3.client("s3", endpoint_url=s3_endpoint)
        .get_object(Bucket=bucket, Key="team/data/manifest.json")["Body"]
        .read()
    )
    assert json.loads(body) == build_manifest(folder)


def test_push_changed_file_reaches_cache(tmp_path, s3_endpoint):
    folder = make_small_folder(tmp_path / "data")
    bucket = _bucket(s3_endpoint)
    push_folder(folder, f"s3://{bucket}/data")
    assert load_dataset(f"s3://{bucket}/data").fires["area_ha"].iloc[0] == 2.0  # fills the cache
    fires = folder / "fires" / "fires.csv"
    fires.write_text(fires.read_text().replace("20000", "40000"))
    result = push_folder(folder, f"s3://{bucket}/data")
    assert (result["uploaded"], result["unchanged"]) == (1, 3)
    assert load_dataset(f"s3://{bucket}/data").fires["area_ha"].iloc[0] == 4.0


def test_push_missing_bucket_raises(tmp_path, s3_endpoint):
    folder = make_small_folder(tmp_path / "data")
    with pytest.raises(DataError, match=r"upload to 's3://missing-\w+/data' failed"):
        push_folder(folder, f"s3://missing-{uuid.uuid4().hex[:6]}/data")


def test_push_empty_folder_raises(tmp_path, s3_endpoint):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"contains no data file in the expected layout"):
        push_folder(tmp_path / "empty", "s3://bucket/data")
