"""Data folders behind an http(s):// base URL or in an s3://bucket/prefix, cached locally.

A downloaded file is kept under FIRE_DATA_CACHE_DIR, in a folder named after a hash of its URL,
with a `.meta.json` sidecar holding the validator the server gave (ETag, Last-Modified, or the
sha256 from a manifest). The next load sends a conditional request and downloads the file again
only when it changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlparse

import requests
from botocore.exceptions import BotoCoreError, ClientError

from training.data.digest import file_sha256
from training.data.download import atomic_write, get, save_response
from training.data.layout import MANIFEST_FILE
from training.errors import DataError
from training.settings import load_settings

logger = logging.getLogger(__name__)


def _cache_path(cache_dir: Path, kind: str, url: str) -> Path:
    key = hashlib.sha256(url.encode()).hexdigest()[:24]
    return cache_dir / kind / key / url.rstrip("/").rsplit("/", 1)[-1]


def _read_meta(path: Path) -> dict[str, Any]:
    meta = path.with_name(path.name + ".meta.json")
    if not (path.is_file() and meta.is_file()):
        return {}
    try:
        return json.loads(meta.read_text())
    except json.JSONDecodeError:
        return {}


def _write_meta(path: Path, meta: dict[str, Any]) -> None:
    with atomic_write(path.with_name(path.name + ".meta.json")) as temporary:
        temporary.write_text(json.dumps(meta))


class _LinkParser(HTMLParser):
    """Collect the href of every <a> element of a directory listing page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.extend(value for name, value in attrs if name == "href" and value)


class HttpSource:
    """A data folder served over HTTP(S).

    Files are listed from `manifest.json` at the base URL when it exists, otherwise from the
    server's HTML directory listing of each layout folder (as `python -m http.server`, nginx
    `autoindex` or Apache produce).
    """

    def __init__(self, base_url: str) -> None:
        settings = load_settings()
        self.uri = base_url
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = settings["FIRE_HTTP_TIMEOUT"]
        self.retries = settings["FIRE_HTTP_RETRIES"]
        self.cache_dir = Path(settings["FIRE_DATA_CACHE_DIR"])
        self.session = requests.Session()
        self.manifest = self._read_manifest()

    def _get(self, url: str, **kwargs: Any) -> requests.Response:
        return get(url, self.timeout, self.retries, session=self.session, **kwargs)

    def _read_manifest(self) -> dict[str, dict[str, Any]] | None:
        url = urljoin(self.base_url, MANIFEST_FILE)
        response = self._get(url)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise DataError(
                f"GET {url} returned HTTP {response.status_code}; check FIRE_DATA_URI "
                f"{self.uri!r} and the server."
            )
        return parse_manifest(response.content, url)

    def list_folder(self, folder: str) -> list[str]:
        if self.manifest is not None:
            prefix = folder + "/"
            return sorted(
                path[len(prefix) :]
                for path in self.manifest
                if path.startswith(prefix) and "/" not in path[len(prefix) :]
            )
        url = urljoin(self.base_url, folder + "/")
        response = self._get(url)
        if response.status_code == 404:
            return []
        if response.status_code != 200:
            raise DataError(f"GET {url} returned HTTP {response.status_code}; check the server.")
        return parse_listing(response.text, url)

    def local_path(self, relative_path: str) -> Path:
        url = urljoin(self.base_url, relative_path)
        path = _cache_path(self.cache_dir, "http", url)
        meta = _read_meta(path)
        expected = (self.manifest or {}).get(relative_path, {}).get("sha256")
        if expected and meta.get("sha256") == expected:
            return path
        headers = {} if expected else _conditional_headers(meta)
        with self._get(url, headers=headers, stream=True) as response:
            if response.status_code == 304:
                logger.debug("%s unchanged, using the cached copy", url)
                return path
            if response.status_code != 200:
                raise DataError(
                    f"GET {url} returned HTTP {response.status_code}; check that the file exists."
                )
            save_response(response, path)
            validators = {
                "etag": response.headers.get("ETag"),
                "last_modified": response.headers.get("Last-Modified"),
            }

        sha256 = file_sha256(path)
        if expected and sha256 != expected:
            raise DataError(
                f"{url}: sha256 {sha256} differs from {expected} in manifest.json. "
                "The file changed after the manifest was written, so write the manifest again."
            )
        _write_meta(path, {**validators, "sha256": sha256})
        logger.info("downloaded %s", url)
        return path


def _conditional_headers(meta: dict[str, Any]) -> dict[str, str]:
    """Build If-None-Match / If-Modified-Since headers from a cached file's validators.

    NOTE: Last-Modified has a resolution of one second. A server that sends no ETag therefore
    reports a file changed within the same second as the previous download as unchanged.
    A manifest avoids that.
    """
    headers = {}
    if meta.get("etag"):
        headers["If-None-Match"] = meta["etag"]
    if meta.get("last_modified"):
        headers["If-Modified-Since"] = meta["last_modified"]
    return headers


def parse_listing(html: str, url: str) -> list[str]:
    """Return the names of the files directly inside the folder whose listing page is `html`.

    Links to the parent, to subfolders, to other hosts and sort links (`?C=N;O=D`) are skipped.
    """
    parser = _LinkParser()
    parser.feed(html)
    folder = urlparse(url)
    names = set()
    for link in parser.links:
        target = urlparse(urljoin(url, link))
        if target.query or target.netloc != folder.netloc:
            continue
        parent, _, name = unquote(target.path).rpartition("/")
        if name and parent + "/" == unquote(folder.path):
            names.add(name)
    return sorted(names)


def parse_manifest(content: bytes, name: str) -> dict[str, dict[str, Any]]:
    """Parse a manifest (`{"files": [{"path", "sha256", "size"}, ...]}`) into path -> entry."""
    try:
        document = json.loads(content)
        return {entry["path"]: entry for entry in document["files"]}
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise DataError(
            f"{name}: invalid manifest ({error!r}); expected {{'files': [{{'path': ..., "
            "'sha256': ..., 'size': ...}]}; write it again with `python -m training data "
            "manifest`."
        ) from None


def s3_client():
    """Create a boto3 S3 client, pointed at MLFLOW_S3_ENDPOINT_URL when that is set.

    Credentials and region come from the standard AWS variables and files. The EC2 instance
    metadata look-up is turned off unless AWS_EC2_METADATA_DISABLED is set explicitly.
    """
    import boto3

    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    endpoint = load_settings()["MLFLOW_S3_ENDPOINT_URL"] or None
    return boto3.client("s3", endpoint_url=endpoint)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """Split `s3://bucket/prefix` into bucket and prefix (without trailing slash)."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise DataError(f"{uri!r} is not an S3 URI; expected s3://bucket/prefix.")
    return parsed.netloc, parsed.path.strip("/")


class S3Source:
    """A data folder under an S3 prefix, read with boto3."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.bucket, self.prefix = split_s3_uri(uri)
        self.cache_dir = Path(load_settings()["FIRE_DATA_CACHE_DIR"])
        self.client = s3_client()

    def _key(self, relative_path: str) -> str:
        return f"{self.prefix}/{relative_path}" if self.prefix else relative_path

    def list_folder(self, folder: str) -> list[str]:
        prefix = self._key(folder) + "/"
        names = []
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                names.extend(item["Key"][len(prefix) :] for item in page.get("Contents", []))
        except (BotoCoreError, ClientError) as error:
            raise _s3_error(error, f"s3://{self.bucket}/{prefix}") from None
        return sorted(name for name in names if name)

    def local_path(self, relative_path: str) -> Path:
        key = self._key(relative_path)
        url = f"s3://{self.bucket}/{key}"
        path = _cache_path(self.cache_dir, "s3", url)
        try:
            etag = self.client.head_object(Bucket=self.bucket, Key=key)["ETag"]
            if _read_meta(path).get("etag") == etag:
                return path
            with atomic_write(path) as temporary:
                self.client.download_file(self.bucket, key, str(temporary))
        except (BotoCoreError, ClientError) as error:
            raise _s3_error(error, url) from None
        _write_meta(path, {"etag": etag})
        logger.info("downloaded %s", url)
        return path


def _s3_error(error: BotoCoreError | ClientError, url: str) -> DataError:
    """Turn a boto3 error into a DataError that names what to check."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        return DataError(
            f"{url}: S3 request failed ({code}: {error}); check the bucket, the prefix and the "
            "credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, MLFLOW_S3_ENDPOINT_URL)."
        )
    return DataError(
        f"{url}: S3 request failed ({error}); check MLFLOW_S3_ENDPOINT_URL and the credentials."
    )
