"""HTTP downloads with a timeout, retries and atomic writes (temporary file, then rename)."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import requests

from training.errors import DataError

logger = logging.getLogger(__name__)

# Server statuses worth another attempt; any other error status fails at once.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_BACKOFF_SECONDS = 0.5
_CHUNK_BYTES = 1 << 20


def get(
    url: str,
    timeout: float,
    retries: int,
    headers: Mapping[str, str] | None = None,
    stream: bool = False,
    session: requests.Session | None = None,
) -> requests.Response:
    """GET `url`, retrying connection errors, time-outs and 429/5xx up to `retries` attempts.

    Returns the response of the last attempt, whatever its status. The caller checks it.

    Raises:
        DataError: every attempt failed to connect or timed out.
    """
    client = session or requests
    attempts = max(1, retries)
    for attempt in range(1, attempts + 1):
        try:
            response = client.get(url, timeout=timeout, headers=dict(headers or {}), stream=stream)
        except requests.RequestException as error:
            if attempt == attempts:
                raise DataError(
                    f"GET {url} failed after {attempts} attempt(s): {error}; check the URL and "
                    "the network, or raise FIRE_HTTP_TIMEOUT / FIRE_HTTP_RETRIES."
                ) from None
            logger.warning("GET %s failed (%s), attempt %d of %d", url, error, attempt, attempts)
        else:
            if response.status_code not in RETRY_STATUSES or attempt == attempts:
                return response
            logger.warning(
                "GET %s returned %d, attempt %d of %d", url, response.status_code, attempt, attempts
            )
            response.close()
        time.sleep(_BACKOFF_SECONDS * 2 ** (attempt - 1))
    raise AssertionError("unreachable: the loop returns or raises")


@contextlib.contextmanager
def atomic_write(destination: Path) -> Iterator[Path]:
    """Yield a temporary path next to `destination`, renamed onto it only on success."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        os.replace(temporary_path, destination)
    finally:
        temporary_path.unlink(missing_ok=True)


def save_response(response: requests.Response, destination: Path) -> int:
    """Stream a successful response body into `destination` atomically; return the byte count."""
    written = 0
    with atomic_write(destination) as temporary, temporary.open("wb") as stream:
        for chunk in response.iter_content(_CHUNK_BYTES):
            stream.write(chunk)
            written += len(chunk)
    return written


def download(url: str, destination: Path, timeout: float, retries: int) -> int:
    """Download `url` into `destination` atomically and return the number of bytes.

    A body cut off mid-transfer counts as a failed attempt, like a failed connection.

    Raises:
        DataError: the server returned an error status or could not be reached.
    """
    attempts = max(1, retries)
    for attempt in range(1, attempts + 1):
        with get(url, timeout, retries, stream=True) as response:
            if response.status_code != 200:
                raise DataError(
                    f"GET {url} returned HTTP {response.status_code}; check that the file exists."
                )
            try:
                return save_response(response, destination)
            except requests.RequestException as error:
                if attempt == attempts:
                    raise DataError(
                        f"GET {url}: the transfer failed after {attempts} attempt(s): {error}; "
                        "try again later."
                    ) from None
                logger.warning("GET %s: transfer failed (%s), retrying", url, error)
    raise AssertionError("unreachable: the loop returns or raises")
