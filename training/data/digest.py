"""Dataset digest: which exact files a load read, as one sha256."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

_CHUNK_BYTES = 1 << 20


def file_sha256(path: Path) -> str:
    """Return the sha256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_digest(file_digests: Mapping[str, str]) -> str:
    """Hash the sorted (relative path, file sha256) pairs, one `path\\tsha256\\n` line each.

    The result depends only on the relative paths and contents, so the same files give the
    same digest from a local folder, an HTTP base URL or an S3 prefix.
    """
    digest = hashlib.sha256()
    for relative_path in sorted(file_digests):
        digest.update(f"{relative_path}\t{file_digests[relative_path]}\n".encode())
    return digest.hexdigest()
