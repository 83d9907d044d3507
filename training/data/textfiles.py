"""Read delimited text files as users download them: gzip or not, UTF-8 or Windows-1252.

Every failure raises `DataError` with the file name, the problem and the fix, so that a broken
download never turns into a silently empty table.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

import pandas as pd

from training.errors import DataError

# Separators tried when the expected one does not split the header line.
_OTHER_SEPARATORS = (";", ",", "\t", "|")


def read_bytes(path: Path, name: str) -> bytes:
    """Return the content of `path`, decompressed when the name ends in `.gz`."""
    if not path.is_file():
        raise DataError(f"{name}: file not found at {str(path)!r}; download or restore it.")
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise DataError(
                f"{name}: invalid or truncated gzip file ({error}); download it again."
            ) from None
    if not raw.strip():
        raise DataError(f"{name}: the file is empty; download it again or remove it.")
    return raw


def decode_text(raw: bytes, name: str) -> str:
    """Decode UTF-8 (with or without BOM), else Windows-1252, which covers French exports."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError as error:
        raise DataError(
            f"{name}: the text is neither UTF-8 nor Windows-1252 ({error}); "
            "export the file again as CSV."
        ) from None


def read_text(path: Path, name: str) -> str:
    """Read, decompress and decode a text file."""
    return decode_text(read_bytes(path, name), name)


def find_header(
    lines: Sequence[str], first_column: str, separator: str, name: str, max_preamble: int = 20
) -> int:
    """Return the index of the header line, the first that starts with `first_column`.

    Exports may begin with a few preamble lines, so up to `max_preamble` lines are skipped.
    A header found with another separator raises a `DataError` that names both separators.
    """
    for index, line in enumerate(lines[: max_preamble + 1]):
        cleaned = line.strip().lstrip("\ufeff").lstrip('"')
        if not cleaned.startswith(first_column):
            continue
        rest = cleaned[len(first_column) :].lstrip('"')
        if rest.startswith(separator) or rest == "":
            return index
        found = next((other for other in _OTHER_SEPARATORS if rest.startswith(other)), None)
        if found is None:
            # A preamble line such as "Année(s) : 2024" only starts like the header.
            continue
        raise DataError(
            f"{name}: line {index + 1} is separated by {found!r}, expected {separator!r}; "
            f"export the file again with {separator!r} as separator."
        )
    raise DataError(
        f"{name}: no header line starting with {first_column!r} in the first "
        f"{max_preamble + 1} lines; check that this is the right kind of file."
    )


def parse_table(
    text: str, separator: str, name: str, columns: Collection[str] | None = None
) -> pd.DataFrame:
    """Parse delimited text into a frame of strings, empty fields as empty strings.

    With `columns`, only those columns are kept (those absent are simply not returned).
    """

    def is_requested(column: str) -> bool:
        return columns is None or column.strip().strip('"') in columns

    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=separator,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
            usecols=is_requested,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(f"{name}: cannot parse the table ({error}); check the file.") from None
    frame.columns = [str(column).strip().strip('"') for column in frame.columns]
    # A trailing separator at the end of each line adds one unnamed empty column.
    unnamed = [column for column in frame.columns if column.startswith("Unnamed:")]
    return frame.drop(columns=unnamed)


def require_columns(frame: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    """Raise a `DataError` naming the first required column that `frame` lacks."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(
            f"{name}: missing column(s) {', '.join(map(repr, missing))}; found "
            f"{list(frame.columns)[:12]!r}. Export the file again with all columns."
        )


def to_number(values: pd.Series) -> pd.Series:
    """Convert strings to float64, accepting a decimal comma; anything else becomes NaN."""
    cleaned = values.astype(str).str.strip().str.replace(",", ".", regex=False)
    return pd.to_numeric(cleaned, errors="coerce").astype("float64")
