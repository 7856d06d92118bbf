"""Prices that cannot be right are not prices: checks every adapter applies to its rows.

Test and sandbox APIs (and the odd glitch of a live one) return spot prices of zero or a
fraction of a cent for an instance whose on-demand price is tens of dollars. Planning on
such a figure would pick it every time, so the row is dropped and a warning names it.
"""

from __future__ import annotations

import warnings

import pandas as pd

# A spot price below this share of the same offer's on-demand price is implausible
# (real spot discounts stop around 90%).
MIN_SPOT_SHARE = 0.01


class ImplausiblePriceWarning(UserWarning):
    """A price row was dropped because it cannot be right."""


def implausible_spot(rows: pd.DataFrame) -> pd.Series:
    """Boolean mask of spot rows priced at zero (or less, or NaN) or below
    :data:`MIN_SPOT_SHARE` of the on-demand price of the same provider/region/instance."""
    if rows.empty:
        return pd.Series(False, index=rows.index, dtype=bool)
    key = ["provider", "region", "instance_type"]
    prices = pd.to_numeric(rows["usd_per_hour"], errors="coerce")
    on_demand = (rows.assign(_price=prices)[rows["pricing"] == "on_demand"]
                 .drop_duplicates(key).set_index(key)["_price"])
    matched = pd.Series(
        [on_demand.get(tuple(k)) for k in rows[key].itertuples(index=False, name=None)],
        index=rows.index, dtype="float64")
    spot = rows["pricing"] == "spot"
    not_positive = ~(prices > 0)  # also catches NaN
    too_cheap = matched.notna() & (prices < MIN_SPOT_SHARE * matched)
    return spot & (not_positive | too_cheap)


def drop_implausible_spot(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` without the spot prices :func:`implausible_spot` flags, warning once per
    dropped offer (provider, region, instance type, the price and the on-demand price)."""
    mask = implausible_spot(rows)
    if not mask.any():
        return rows
    on_demand = rows[rows["pricing"] == "on_demand"].set_index(
        ["provider", "region", "instance_type"])["usd_per_hour"]
    for row in rows[mask].itertuples(index=False):
        reference = on_demand.get((row.provider, row.region, row.instance_type))
        against = (f" against ${float(reference):g} on demand" if reference is not None
                   and not isinstance(reference, pd.Series) else "")
        warnings.warn(
            f"{row.provider} {row.region} {row.instance_type}: spot price "
            f"${float(row.usd_per_hour):g}/h{against} cannot be right; offer dropped",
            ImplausiblePriceWarning, stacklevel=2)
    return rows[~mask].reset_index(drop=True)
