"""Data sources: a local folder, an http(s):// base URL or an s3://bucket/prefix.

Every source lists the file names of one layout folder and returns a local path for a relative
file path. Remote sources download into a cache folder first, so the loaders only see local files.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from training.errors import DataError

logger = logging.getLogger(__name__)


class DataSource(Protocol):
    """A data folder that can list its files and hand them out as local paths."""

    uri: str

    def list_folder(self, folder: str) -> list[str]:
        """Return the file names directly inside `folder` (relative to the root), or []."""
        ...

    def local_path(self, relative_path: str) -> Path:
        """Return a local path with the file's current content."""
        ...


class FolderSource:
    """A data folder on the local file system."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.uri = str(root)

    def list_folder(self, folder: str) -> list[str]:
        directory = self.root / folder
        if not directory.is_dir():
            return []
        return sorted(entry.name for entry in directory.iterdir() if entry.is_file())

    def local_path(self, relative_path: str) -> Path:
        return self.root / relative_path


def open_source(uri: str) -> DataSource:
    """Return the source for `uri`: an existing local folder, http(s):// or s3://."""
    if uri.startswith(("http://", "https://")):
        from training.data.remote import HttpSource

        return HttpSource(uri)
    if uri.startswith("s3://"):
        from training.data.remote import S3Source

        return S3Source(uri)
    root = Path(uri).expanduser()
    if not root.is_dir():
        raise DataError(
            f"data folder {uri!r} not found; set FIRE_DATA_URI to a folder laid out as "
            "communes/, fires/, weather/, or to an http(s):// or s3:// location."
        )
    return FolderSource(root)
