"""Share a local data folder: write its manifest, upload it to an S3 prefix."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from training.data.digest import dataset_digest, file_sha256
from training.data.download import atomic_write
from training.data.layout import FOLDERS, MANIFEST_FILE, select_files
from training.data.remote import s3_client, split_s3_uri
from training.errors import DataError

logger = logging.getLogger(__name__)


def layout_files(folder: Path) -> list[str]:
    """Return the relative paths of the files in `folder` that the loaders read, sorted."""
    if not folder.is_dir():
        raise DataError(f"data folder {str(folder)!r} not found; give an existing folder.")
    listing = {
        name: sorted(entry.name for entry in (folder / name).iterdir() if entry.is_file())
        for name in FOLDERS
        if (folder / name).is_dir()
    }
    return sorted(path for paths in select_files(listing).values() for path in paths)


def build_manifest(folder: Path) -> dict[str, Any]:
    """Describe every layout file of `folder`: path, sha256 and size, plus the dataset digest."""
    entries = []
    for relative_path in layout_files(folder):
        path = folder / relative_path
        entries.append(
            {"path": relative_path, "sha256": file_sha256(path), "size": path.stat().st_size}
        )
    digest = dataset_digest({entry["path"]: entry["sha256"] for entry in entries})
    return {"files": entries, "digest": digest}


def write_manifest(folder: Path) -> Path:
    """Write `manifest.json` at the root of `folder`, for serving it over HTTP."""
    manifest = build_manifest(folder)
    destination = folder / MANIFEST_FILE
    with atomic_write(destination) as temporary:
        temporary.write_text(json.dumps(manifest, indent=2) + "\n")
    logger.info("wrote %s with %d files", destination, len(manifest["files"]))
    return destination


def push_folder(folder: Path, uri: str) -> dict[str, Any]:
    """Upload the layout files of `folder` and a manifest.json to the S3 prefix `uri`.

    A file whose object already carries the same sha256 (in its metadata) is not uploaded again.
    Returns counts of uploaded and unchanged files and the dataset digest.
    """
    bucket, prefix = split_s3_uri(uri)
    manifest = build_manifest(folder)
    if not manifest["files"]:
        raise DataError(
            f"{str(folder)!r} contains no data file in the expected layout (communes/, fires/, "
            "weather/...); run `python -m training data fetch` first."
        )
    client = s3_client()
    uploaded = unchanged = 0
    try:
        for entry in manifest["files"]:
            key = f"{prefix}/{entry['path']}" if prefix else entry["path"]
            if _remote_sha256(client, bucket, key) == entry["sha256"]:
                unchanged += 1
                continue
            client.upload_file(
                str(folder / entry["path"]),
                bucket,
                key,
                ExtraArgs={"Metadata": {"sha256": entry["sha256"]}},
            )
            uploaded += 1
            logger.info("uploaded s3://%s/%s", bucket, key)
        manifest_key = f"{prefix}/{MANIFEST_FILE}" if prefix else MANIFEST_FILE
        body = json.dumps(manifest, indent=2).encode()
        client.put_object(Bucket=bucket, Key=manifest_key, Body=body)
    except (BotoCoreError, ClientError, S3UploadFailedError) as error:
        raise DataError(
            f"upload to {uri!r} failed ({error}); check that the bucket exists and the "
            "credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, MLFLOW_S3_ENDPOINT_URL)."
        ) from None
    return {"uploaded": uploaded, "unchanged": unchanged, "digest": manifest["digest"]}


def _remote_sha256(client: Any, bucket: str, key: str) -> str | None:
    try:
        return client.head_object(Bucket=bucket, Key=key).get("Metadata", {}).get("sha256")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise
