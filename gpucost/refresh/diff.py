"""What changed between two snapshots: offers added, removed, and prices moved."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from gpucost.catalog.schema import OFFER_KEY

PRICE_CHANGE_THRESHOLD = 0.05


@dataclass
class SnapshotDiff:
    """Keys are ``provider/region/instance_type/pricing``."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # (key, old $/h, new $/h, relative change), largest |change| first
    price_changes: list[tuple[str, float, float, float]] = field(default_factory=list)

    def render(self, top: int = 10) -> str:
        lines = [f"{len(self.added)} offers added, {len(self.removed)} removed, "
                 f"{len(self.price_changes)} prices changed by more than "
                 f"{PRICE_CHANGE_THRESHOLD:.0%}"]
        for key, old, new, change in self.price_changes[:top]:
            lines.append(f"  {key}: ${old:g} -> ${new:g} ({change:+.1%})")
        if len(self.price_changes) > top:
            lines.append(f"  ... and {len(self.price_changes) - top} more")
        return "\n".join(lines)


def _keyed(df: pd.DataFrame) -> pd.Series:
    if df.empty:
        return pd.Series(dtype="float64")
    keys = df[OFFER_KEY].astype(str).agg("/".join, axis=1)
    return pd.Series(df["usd_per_hour"].to_numpy(), index=keys)


def diff_snapshots(old: pd.DataFrame, new: pd.DataFrame,
                   threshold: float = PRICE_CHANGE_THRESHOLD) -> SnapshotDiff:
    """Compare two offer tables."""
    a, b = _keyed(old), _keyed(new)
    common = a.index.intersection(b.index)
    change = (b[common] - a[common]) / a[common]
    moved = change[change.abs() > threshold]
    ordered = moved.reindex(moved.abs().sort_values(ascending=False).index)
    return SnapshotDiff(
        added=sorted(set(b.index) - set(a.index)),
        removed=sorted(set(a.index) - set(b.index)),
        price_changes=[(k, float(a[k]), float(b[k]), float(v)) for k, v in ordered.items()],
    )
