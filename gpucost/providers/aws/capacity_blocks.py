"""EC2 Capacity Blocks for ML: GPU clusters bought ahead for a fixed window and fee.

``describe_capacity_block_offerings(InstanceType, InstanceCount, CapacityDurationHours)``
lists what can be bought in a region: each offering has an id, a zone, an instance count,
a start and end date and an upfront fee (paid whole at purchase, whether or not the run
fills the block). ``gpucost refresh --capacity-blocks TYPE:COUNT:DAYS,...`` asks for
each request in each refreshed region and writes the offerings beside the AWS prices
(``aws/<date>.capacity_blocks.csv``, :data:`CAPACITY_BLOCK_COLUMNS`); the planner may
then buy one (:mod:`gpucost.planner.capacity`).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gpucost.errors import InputError, quote
from gpucost.files import read_text

CAPACITY_BLOCK_COLUMNS = ["provider", "region", "zone", "offering_id", "instance_type",
                          "instance_count", "start", "end", "duration_hours",
                          "upfront_fee_usd", "as_of", "source"]
SOURCE = "ec2 describe_capacity_block_offerings"
# Capacity Blocks last 1-14 days in whole days, or up to 182 days in 7-day steps
# (the EC2 user guide); a request outside what AWS sells is refused at the flag.
MAX_DAYS = 182
_SPEC = re.compile(r"^([a-z0-9][a-z0-9.-]*\.[a-z0-9]+):(\d{1,4}):(\d{1,3})$")


@dataclass(frozen=True)
class BlockRequest:
    instance_type: str
    count: int
    days: int

    @property
    def hours(self) -> int:
        return self.days * 24


def parse_requests(text: str, origin: str = "--capacity-blocks") -> list[BlockRequest]:
    """``p5.48xlarge:8:14,p5en.48xlarge:16:7`` -> requests (type, instances, days)."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        match = _SPEC.match(part)
        if not match or not 1 <= int(match[2]) <= 1024 or not 1 <= int(match[3]) <= MAX_DAYS:
            raise InputError(origin, quote(part, 40), "TYPE:COUNT:DAYS such as "
                             f"p5.48xlarge:8:14 (1-1024 instances, 1-{MAX_DAYS} days)")
        out.append(BlockRequest(match[1], int(match[2]), int(match[3])))
    return out


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return value.isoformat(timespec="minutes")
    return str(value)


def fetch_capacity_blocks(ec2: Any, region: str, requests: list[BlockRequest],
                          as_of: str) -> list[dict[str, Any]]:
    """Offerings of ``requests`` in ``region`` (``ec2``: a botocore EC2 client)."""
    rows = []
    for req in requests:
        token = None
        while True:
            params: dict[str, Any] = {"InstanceType": req.instance_type,
                                      "InstanceCount": req.count,
                                      "CapacityDurationHours": req.hours}
            if token:
                params["NextToken"] = token
            answer = ec2.describe_capacity_block_offerings(**params)
            for o in answer.get("CapacityBlockOfferings", []):
                if (o.get("CurrencyCode") or "USD") != "USD":
                    continue
                fee = float(o.get("UpfrontFee", "nan"))
                if not math.isfinite(fee) or fee <= 0:
                    continue
                rows.append({
                    "provider": "aws", "region": region,
                    "zone": o.get("AvailabilityZone", ""),
                    "offering_id": o["CapacityBlockOfferingId"],
                    "instance_type": o.get("InstanceType", req.instance_type),
                    "instance_count": int(o.get("InstanceCount", req.count)),
                    "start": _date(o["StartDate"]), "end": _date(o["EndDate"]),
                    "duration_hours": float(o.get("CapacityBlockDurationHours", req.hours)),
                    "upfront_fee_usd": fee, "as_of": as_of, "source": SOURCE})
            token = answer.get("NextToken")
            if not token:
                break
    return rows


def empty_blocks() -> pd.DataFrame:
    return pd.DataFrame(columns=CAPACITY_BLOCK_COLUMNS)


def blocks_path(snapshot_path: Path, date_text: str) -> Path:
    return snapshot_path.with_name(f"{date_text}.capacity_blocks.csv")


def read_blocks(path: Path) -> pd.DataFrame:
    """The capacity-block file at ``path`` (an empty table when there is none); errors
    name the file, row and column."""
    if not path.is_file():
        return empty_blocks()
    origin = str(path)
    try:
        table = pd.read_csv(io.StringIO(read_text(path, "capacity-block CSV file")), dtype=str,
                            keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError):
        raise InputError(origin, "file", "expected a capacity-block CSV") from None
    missing = [c for c in CAPACITY_BLOCK_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(origin, "header", f"expected columns {', '.join(missing)}")
    table = table[CAPACITY_BLOCK_COLUMNS].copy()
    for column, low in (("instance_count", 1), ("duration_hours", 1), ("upfront_fee_usd", 0)):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() | (values < low) | ~values.map(
            lambda v: math.isfinite(v) if v == v else False)
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise InputError(origin, f"row {row + 2}: {column}",
                             f"expected a number >= {low}, got {quote(table[column].iat[row])}")
        table[column] = values.astype(float)
    for column in ("start", "end"):
        parsed = pd.to_datetime(table[column], utc=True, errors="coerce", format="ISO8601")
        if parsed.isna().any():
            row = int(parsed.isna().to_numpy().nonzero()[0][0])
            raise InputError(origin, f"row {row + 2}: {column}",
                             f"expected an ISO date/time, got {quote(table[column].iat[row])}")
        table[column] = parsed
    table["instance_count"] = table["instance_count"].astype(int)
    return table


def write_blocks(rows: pd.DataFrame, out_dir: Path | str, provider: str,
                 date: dt.date) -> Path:
    from gpucost.catalog.snapshot import write_side_table

    return write_side_table(rows, CAPACITY_BLOCK_COLUMNS, ["region", "instance_type", "start"],
                            out_dir, provider, date, "capacity_blocks")
