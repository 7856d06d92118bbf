"""Combine a fresh fetch with the previous snapshot without losing anything."""

from __future__ import annotations

import warnings

import pandas as pd

from gpucost.catalog.schema import OFFER_KEY, UnknownGpuWarning, coerce_offers, sort_offers


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
    prev = previous[previous["provider"] == provider]
    stale = prev[prev["region"].isin(failed_regions)].assign(stale=True)
    if attempted_regions is None:
        untouched = prev.iloc[0:0]
    else:
        done = attempted_regions | failed_regions | set(fresh["region"])
        untouched = prev[~prev["region"].isin(done)]
    frames = [f for f in (fresh, stale, untouched) if len(f)]
    if not frames:
        return fresh.iloc[0:0]
    merged = pd.concat(frames, ignore_index=True).drop_duplicates(OFFER_KEY)
    with warnings.catch_warnings():
        # Both inputs were validated (and any unknown GPU named) when read or fetched:
        # saying it again here printed each unknown-GPU warning twice.
        warnings.simplefilter("ignore", UnknownGpuWarning)
        return sort_offers(coerce_offers(merged, f"{provider} refresh"))


def merge_concurrent(ours: pd.DataFrame, theirs: pd.DataFrame) -> pd.DataFrame:
    """One snapshot from two refreshes that wrote the same file at once: per offer, the
    fresh row over a stale carry-over, then the newer ``as_of``, then ours. (A row one
    of them dropped, because its region no longer sells it, survives from the other.)"""
    both = pd.concat([ours.assign(_ours=0), theirs.assign(_ours=1)], ignore_index=True)
    both = both.sort_values(["stale", "as_of", "_ours"], ascending=[True, False, True],
                            kind="stable")
    merged = both.drop_duplicates(OFFER_KEY, keep="first").drop(columns="_ours")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownGpuWarning)
        return sort_offers(coerce_offers(merged, "concurrent refresh"))
