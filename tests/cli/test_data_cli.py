"""`python -m training data ...`: check, fetch, push and manifest from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import boto3

from tests import servers
from tests.conftest import REPO_ROOT
from tests.data.builders import fire_line, make_small_folder, write_fires
from training.__main__ import main


def test_check_json_on_real_data(shared_data_dir):
    environment = {**os.environ, "FIRE_DATA_URI": str(shared_data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "training", "data", "check", "--json"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["communes"]["count"] == 360
    assert report["fires"]["rows"] == 40_863
    assert report["fires"]["first_date"] == "1973-02-08"
    assert report["fires"]["last_date"] == "2024-12-26"
    assert report["weather"]["stations"] == 2
    assert report["weather"]["first_date"] == "1947-05-01"
    assert report["weather"]["last_date"] == "2024-02-29"
    assert len(report["digest"]) == 64


def test_check_human_report(tmp_path, capsys):
    folder = make_small_folder(tmp_path / "data")
    assert main(["data", "check", "--uri", str(folder)]) == 0
    output = capsys.readouterr().out
    assert "Communes: 3 2A: 2, 2B: 1" in output
    assert "Fires: 3 kept, 2020-07-01 to 2020-07-03" in output
    assert "Source: BDIFF, bdiff.agriculture.gouv.fr" in output
    assert "source priority: meteofrance-daily > synop > ecad" in output
    assert "Usable for training: yes" in output


def test_check_unusable_exits_one(tmp_path, capsys):
    folder = make_small_folder(tmp_path / "data")
    lines = [fire_line(2020, 1, "2A", "2A999", "01/07/2020 14:00", 1)]
    write_fires(folder, "fires.csv", lines)
    assert main(["data", "check", "--uri", str(folder)]) == 1
    output = capsys.readouterr().out
    assert "rejected (unknown_commune): 1" in output
    assert "Usable for training: no" in output


def test_check_fatal_error_exits_two(tmp_path, capsys):
    folder = make_small_folder(tmp_path / "data")
    (folder / "fires" / "fires.csv").write_text("")
    assert main(["data", "check", "--uri", str(folder)]) == 2
    assert "error: fires/fires.csv: the file is empty" in capsys.readouterr().err


def test_fetch_communes_from_mirror(tmp_path, capsys):
    mirror = make_small_folder(tmp_path / "mirror")
    outlines = mirror / "regions" / "corse" / "communes-corse.geojson"
    outlines.parent.mkdir(parents=True)
    outlines.write_bytes((mirror / "communes" / "communes-corse.geojson").read_bytes())
    destination = tmp_path / "data"
    with servers.static_http_server(mirror, tmp_path) as server:
        arguments = ["data", "fetch", "--dest", str(destination), "--source", "communes"]
        status = main([*arguments, "--communes-base-url", server.url])
    assert status == 0
    assert (
        destination / "communes" / "communes-corse.geojson"
    ).read_bytes() == outlines.read_bytes()
    output = capsys.readouterr().out
    assert "Downloaded: 1 files" in output
    assert "https://bdiff.agriculture.gouv.fr/incendies" in output
    assert f"{destination}/fires/" in output


def test_fetch_into_remote_uri_exits_two(capsys):
    assert main(["data", "fetch", "--dest", "s3://bucket/data"]) == 2
    assert "is not a local folder" in capsys.readouterr().err


def test_push_and_check_s3(tmp_path, s3_endpoint, capsys):
    folder = make_small_folder(tmp_path / "data")
    bucket = f"cli-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    assert main(["data", "push", f"s3://{bucket}/data", "--from", str(folder)]) == 0
    assert "4 uploaded, 0 unchanged" in capsys.readouterr().out
    assert main(["data", "check", "--json", "--uri", f"s3://{bucket}/data"]) == 0
    assert json.loads(capsys.readouterr().out)["fires"]["rows"] == 3


def test_manifest_command(tmp_path, capsys):
    folder = make_small_folder(tmp_path / "data")
    assert main(["data", "manifest", str(folder)]) == 0
    assert (folder / "manifest.json").is_file()
    assert "manifest.json" in capsys.readouterr().out
