"""The data folder layout, the same in a local folder, behind an HTTP base URL or in S3."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

COMMUNES_FILE = "communes/communes-corse.geojson"
POPULATION_FILE = "communes/population.csv"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class FileGroup:
    """Files of one kind: a folder and the name patterns read from it."""

    folder: str
    patterns: tuple[str, ...]

    def select(self, names: Iterable[str]) -> list[str]:
        """Return the relative paths of the matching names, sorted."""
        chosen = {
            f"{self.folder}/{name}"
            for name in names
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in self.patterns)
        }
        return sorted(chosen)


GROUPS = {
    "communes": FileGroup("communes", ("communes-corse.geojson", "population.csv")),
    "fires": FileGroup("fires", ("*.csv", "*.csv.gz")),
    "synop": FileGroup("weather/synop", ("*.csv.gz", "*.csv")),
    "ecad": FileGroup("weather/ecad", ("RR_STAID*.txt",)),
    "meteofrance": FileGroup("weather/meteofrance-daily", ("Q_20_*.csv.gz", "Q_20_*.csv")),
}
FOLDERS = tuple(group.folder for group in GROUPS.values())


def select_files(listing: dict[str, list[str]]) -> dict[str, list[str]]:
    """Pick the files of each group from a listing of folder -> file names."""
    return {key: group.select(listing.get(group.folder, [])) for key, group in GROUPS.items()}
