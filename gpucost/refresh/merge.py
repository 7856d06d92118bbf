"""Combine a fresh fetch with the previous snapshot without losing anything."""

from __future__ import annotations

import pandas as pd

from gpucost.catalog.schema import coerce_offers, sort_offers


def merge_with_previous(fresh: pd.DataFrame, previous: pd.DataFrame,
                        failed_regions: set[str], attempted_regions: set[str] | None,
                        provider: str) -> pd.DataFrame:
    """The new snapshot of one provider.

    - rows of regions that failed are carried over from ``previous`` with ``stale=True``
      and their old ``as_of``;
    - rows of regions this refresh did not attempt (``attempted_regions`` given and not
      containing them) are carried over unchanged;
    - everything else comes from ``fresh``.
    """
    prev = previous[previous["provider"] == provider] if len(previous) else previous
    keep_mask = prev["region"].isin(failed_regions) if len(prev) else None
    carried = []
    if keep_mask is not None and keep_mask.any():
        stale = prev[keep_mask].copy()
        stale["stale"] = True
        carried.append(stale)
    if attempted_regions is not None and len(prev):
        untouched = prev[~prev["region"].isin(attempted_regions | failed_regions)]
        untouched = untouched[~untouched["region"].isin(set(fresh["region"]))]
        carried.append(untouched)
    frames = [f for f in [fresh, *carried] if len(f)]
    if not frames:
        return fresh.iloc[0:0]
    merged = pd.concat(frames, ignore_index=True)
    merged = merged.drop_duplicates(["provider", "region", "instance_type", "pricing"])
    return sort_offers(coerce_offers(merged, f"{provider} refresh"))
