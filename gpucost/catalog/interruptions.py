"""How often each spot pool is reclaimed: the interruption table beside the prices.

``<snapshot dir>/<provider>/<YYYY-MM-DD>.interruptions.csv`` (optional, beside the price
snapshot of that date) holds one row per pool:

==================  ==========================================================
provider, region    the pool
instance_type
band                the published interruption band: ``<5%``, ``5-10%``, ``10-15%``,
                    ``15-20%`` or ``>20%`` of the pool's instances per month
savings_pct         the published saving of spot over on-demand, % (0: unknown)
as_of               the date the data was published or fetched
source              where it came from (``hand-curated: ...`` for rows written down by hand)
==================  ==========================================================

A band is a share p of instances interrupted per month (the AWS Spot Instance Advisor's
"frequency of interruption" over the trailing month,
aws.amazon.com/ec2/spot/instance-advisor). As a per-instance-hour rate it is
-ln(1 - p) / 730.5 (exponential survival over a mean month of 730.5 hours), each band
read at its midpoint; the top band has no published upper bound and is read as 30%.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from gpucost.errors import InputError, quote
from gpucost.files import read_text

INTERRUPTION_COLUMNS = ["provider", "region", "instance_type", "band", "savings_pct",
                        "as_of", "source"]
HOURS_PER_MONTH = 730.5
BAND_MONTHLY_SHARE = {"<5%": 0.025, "5-10%": 0.075, "10-15%": 0.125, "15-20%": 0.175,
                      ">20%": 0.30}
BANDS = tuple(BAND_MONTHLY_SHARE)


def band_rate(band: str) -> float:
    """Reclaims per instance-hour of a band ("<5%" ... ">20%")."""
    return -math.log1p(-BAND_MONTHLY_SHARE[band]) / HOURS_PER_MONTH


# Pools without published data. GCP documents, for preemptible VMs, "a historical average
# preemption rate [that] varies from 5% to 15% per day per project, on a seven-day
# average" (cloud.google.com/compute/docs/instances/preemptible): 10% per day is
# -ln(0.9) / 24 per hour. Azure pools, and AWS pools missing from the advisor data, take
# the top band.
GCP_DAILY_SHARE = 0.10
DEFAULTS: dict[str, tuple[str, float, str]] = {
    "gcp": ("assumed ~10%/day", -math.log1p(-GCP_DAILY_SHARE) / 24,
            "stated default: GCP documents 5-15% of preemptible VMs preempted per day"),
    "azure": ("assumed >20%/month", band_rate(">20%"),
              "stated default: no Azure eviction data in the snapshot"),
    "aws": ("assumed >20%/month", band_rate(">20%"),
            "stated default: pool not in the Spot Instance Advisor data"),
}
OTHER_DEFAULT = ("assumed >20%/month", band_rate(">20%"), "stated default: no interruption data")


def empty_interruptions() -> pd.DataFrame:
    return pd.DataFrame(columns=INTERRUPTION_COLUMNS)


def interruptions_path(snapshot_path: Path, date_text: str) -> Path:
    return snapshot_path.with_name(f"{date_text}.interruptions.csv")


def parse_interruptions(text: str, origin: str) -> pd.DataFrame:
    """An interruption CSV; bad input raises one :class:`InputError` naming the file,
    the field and what was expected."""
    try:
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(origin, "file", f"expected an interruption CSV ({exc})") from None
    missing = [c for c in INTERRUPTION_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(origin, "header", f"expected columns {', '.join(INTERRUPTION_COLUMNS)}"
                         f"; missing {', '.join(missing)}")
    bad = ~table["band"].isin(BANDS)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(origin, f"row {row + 2}: band",
                         f"expected one of {', '.join(BANDS)}, got {quote(table['band'].iat[row])}")
    savings = pd.to_numeric(table["savings_pct"], errors="coerce")
    bad = savings.isna() | (savings < 0) | (savings > 100)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(origin, f"row {row + 2}: savings_pct",
                         f"expected a number from 0 to 100, got "
                         f"{quote(table['savings_pct'].iat[row])}")
    dates = pd.to_datetime(table["as_of"], format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise InputError(origin, f"row {row + 2}: as_of",
                         f"expected a date YYYY-MM-DD, got {quote(table['as_of'].iat[row])}")
    table = table[INTERRUPTION_COLUMNS].copy()
    table["savings_pct"] = savings.astype(float)
    return table


def read_interruptions(path: Path) -> pd.DataFrame:
    """The interruption file at ``path``, or an empty table when there is none."""
    if not path.is_file():
        return empty_interruptions()
    return parse_interruptions(read_text(path, "interruption CSV file"), str(path))


def write_interruptions(table: pd.DataFrame, out_dir: Path | str, provider: str,
                        date: dt.date) -> Path:
    """Atomically write ``table`` beside the snapshot ``<out_dir>/<provider>/<date>.csv``."""
    from gpucost.catalog.snapshot import write_side_table

    return write_side_table(table, INTERRUPTION_COLUMNS, ["region", "instance_type"],
                            out_dir, provider, date, "interruptions")


def pool_rates(offers: pd.DataFrame, table: pd.DataFrame | None
               ) -> tuple[np.ndarray, list[str], list[str]]:
    """Per offer: reclaims per instance-hour, the band and where it comes from (the
    pool's row in ``table``, else the provider's stated default)."""
    known: dict[tuple[str, str, str], tuple[str, str]] = {}
    if table is not None and len(table):
        for row in table.itertuples(index=False):
            known[(row.provider, row.region, row.instance_type)] = (
                row.band, f"{row.source}, {row.as_of}")
    rates, bands, sources = [], [], []
    blank = pd.Series("", index=offers.index)
    for provider, region, itype in zip(offers.get("provider", blank),
                                       offers.get("region", blank),
                                       offers.get("instance_type", blank), strict=True):
        hit = known.get((provider, region, itype))
        if hit is not None:
            band, source = hit
            rate = band_rate(band)
        else:
            band, rate, source = DEFAULTS.get(provider, OTHER_DEFAULT)
        rates.append(rate)
        bands.append(band)
        sources.append(source)
    return np.array(rates, dtype=float), bands, sources


def attach(offers: pd.DataFrame, table: pd.DataFrame | None) -> pd.DataFrame:
    """``offers`` with ``interruption_band``, ``reclaims_per_hour`` and
    ``interruption_source`` for spot rows ("" / 0 on demand)."""
    out = offers.copy()
    rates, bands, sources = pool_rates(offers, table)
    spot = (offers["pricing"] == "spot").to_numpy()
    out["interruption_band"] = np.where(spot, bands, "")
    out["reclaims_per_hour"] = np.where(spot, rates, 0.0)
    out["interruption_source"] = np.where(spot, sources, "")
    return out
