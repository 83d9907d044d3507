"""Counting of rejected rows and values, so that nothing is dropped without a trace."""

from __future__ import annotations

import logging

import pandas as pd

logger = logging.getLogger(__name__)


class Rejections:
    """Counts of rejected rows (or values) per reason, for one source of the check report."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.counts: dict[str, int] = {}

    def count(self, reason: str, number: int) -> None:
        """Add `number` rejections for `reason`; zero adds nothing."""
        if number <= 0:
            return
        self.counts[reason] = self.counts.get(reason, 0) + int(number)
        logger.debug("%s: %d rejected (%s)", self.source, number, reason)

    def drop(self, frame: pd.DataFrame, rejected: pd.Series, reason: str) -> pd.DataFrame:
        """Return the rows of `frame` where `rejected` is false, counting the others."""
        rejected = rejected.fillna(False).astype(bool)
        self.count(reason, int(rejected.sum()))
        return frame.loc[~rejected]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


def date_range(dates: pd.Series) -> tuple[str | None, str | None]:
    """Return the first and last date as ISO strings, or None for an empty series."""
    valid = dates.dropna()
    if valid.empty:
        return None, None
    return valid.min().date().isoformat(), valid.max().date().isoformat()
