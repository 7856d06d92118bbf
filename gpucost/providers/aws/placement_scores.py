"""AWS spot placement scores: how likely a spot request of a given size succeeds, per region.

``get_spot_placement_scores(InstanceTypes, TargetCapacity, RegionNames)`` answers a score
from 1 (unlikely) to 10 (very likely) per region for getting ``TargetCapacity`` instances
of those types now (EC2 user guide, "Spot placement score"). ``gpucost refresh
--placement-scores N`` asks it for each spot GPU type of the fetched regions at N
instances and writes ``aws/<date>.placement_scores.csv`` beside the prices; a plan that
needs at least that many spot instances in a pool scoring low warns.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pandas as pd

from gpucost.errors import InputError, quote
from gpucost.files import read_text

SCORE_COLUMNS = ["provider", "region", "instance_type", "target_capacity", "score", "as_of",
                 "source"]
SOURCE = "ec2 get_spot_placement_scores"
LOW_SCORE = 3  # 1-3 of 10: AWS's "unlikely to succeed" end of the scale


def fetch_scores(ec2: Any, instance_types: list[str], target_capacity: int,
                 regions: list[str], as_of: str) -> list[dict[str, Any]]:
    """One score per (region, instance type) at ``target_capacity`` instances (each type
    asked alone, so the score is that pool's, not a diversified fleet's)."""
    rows = []
    for itype in instance_types:
        token = None
        while True:
            params: dict[str, Any] = {"InstanceTypes": [itype],
                                      "TargetCapacity": target_capacity,
                                      "TargetCapacityUnitType": "units",
                                      "SingleAvailabilityZone": False,
                                      "RegionNames": regions}
            if token:
                params["NextToken"] = token
            answer = ec2.get_spot_placement_scores(**params)
            for s in answer.get("SpotPlacementScores", []):
                score = s.get("Score")
                if isinstance(score, int) and 1 <= score <= 10 and s.get("Region"):
                    rows.append({"provider": "aws", "region": s["Region"],
                                 "instance_type": itype, "target_capacity": target_capacity,
                                 "score": score, "as_of": as_of, "source": SOURCE})
            token = answer.get("NextToken")
            if not token:
                break
    return rows


def scores_path(snapshot_path: Path, date_text: str) -> Path:
    return snapshot_path.with_name(f"{date_text}.placement_scores.csv")


def read_scores(path: Path) -> pd.DataFrame:
    """The score file at ``path`` (empty when there is none); errors name row and column."""
    if not path.is_file():
        return pd.DataFrame(columns=SCORE_COLUMNS)
    origin = str(path)
    try:
        table = pd.read_csv(io.StringIO(read_text(path, "placement-score CSV file")),
                            dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError):
        raise InputError(origin, "file", "expected a placement-score CSV") from None
    missing = [c for c in SCORE_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(origin, "header", f"expected columns {', '.join(missing)}")
    table = table[SCORE_COLUMNS].copy()
    for column, low, high in (("score", 1, 10), ("target_capacity", 1, 100_000)):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() | (values < low) | (values > high) | (values != values.round())
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise InputError(origin, f"row {row + 2}: {column}", f"expected a whole number "
                             f"from {low} to {high}, got {quote(table[column].iat[row])}")
        table[column] = values.astype(int)
    return table


def write_scores(rows: pd.DataFrame, out_dir: Path | str, provider: str,
                 date: dt.date) -> Path:
    from gpucost.catalog.snapshot import write_side_table

    return write_side_table(rows, SCORE_COLUMNS, ["region", "instance_type"], out_dir,
                            provider, date, "placement_scores")


def low_score_notes(allocations: list, scores: pd.DataFrame | None) -> list[str]:
    """A note per spot allocation needing at least a scored target capacity in a pool
    that scored low."""
    if scores is None or not len(scores):
        return []
    notes = []
    for a in allocations:
        if a.pricing != "spot" or a.provider != "aws":
            continue
        hits = scores[(scores["region"] == a.region) & (scores["instance_type"] == a.instance_type)
                      & (scores["target_capacity"] <= a.instances)]
        if hits.empty:
            continue
        worst = hits.sort_values(["score", "target_capacity"]).iloc[0]
        if int(worst["score"]) <= LOW_SCORE:
            notes.append(f"AWS spot placement score for {int(worst['target_capacity'])} x "
                         f"{a.instance_type} in {a.region} is {int(worst['score'])}/10 (as of "
                         f"{worst['as_of']}): {a.instances} spot instances there are unlikely "
                         "to be granted now; consider another region, on-demand or a "
                         "capacity block")
    return notes
