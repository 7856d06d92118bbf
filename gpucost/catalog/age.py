"""How old the prices are: the prices an answer USES, and the offers it searched.

A snapshot file's name is the day it was written, not the day its prices were observed:
a refresh that failed for a region carries that region's old rows over (``stale``), and
the shipped files hold hand-curated rows with their own, older dates. So ages are always
told from the rows' own ``as_of``: the oldest price an answer uses (named, so a reader
can check it) and the share of the searched offers that are more than
:data:`OLD_AFTER_DAYS` old. Nothing here looks at file names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

# A price older than this is worth a warning (list prices move every few months).
STALE_AFTER_DAYS = 30
# The share of searched offers older than this is told with every warning: a quarter is
# long enough for list prices to have moved and for new instance types to have appeared.
OLD_AFTER_DAYS = 90


@dataclass(frozen=True)
class PriceAge:
    """The age of the prices behind one answer (dates are UTC calendar days)."""

    today: dt.date
    oldest_used: dt.date | None  # the oldest price the answer uses (None: uses none)
    oldest_used_offer: str  # "aws us-east-1 p6-b200.48xlarge on_demand"
    searched: int  # offers the answer searched
    searched_old: int  # of which priced more than OLD_AFTER_DAYS before today
    oldest_searched: dt.date | None

    @property
    def used_days(self) -> int | None:
        return None if self.oldest_used is None else (self.today - self.oldest_used).days

    @property
    def stale(self) -> bool:
        """Worth a warning: a used price, or (using none) a searched one, is too old."""
        if self.oldest_used is not None:
            return (self.today - self.oldest_used).days > STALE_AFTER_DAYS
        return (self.oldest_searched is not None
                and (self.today - self.oldest_searched).days > STALE_AFTER_DAYS)

    def searched_text(self, verb: str = "searched") -> str:
        """'83 of the 201 offers searched (41%) are priced more than 90 days ago'."""
        if not self.searched:
            return f"no offers {verb}"
        share = self.searched_old / self.searched
        percent = f"{share:.0%}" if share >= 0.01 or not self.searched_old else "<1%"
        return (f"{self.searched_old:,} of the {self.searched:,} offers {verb} ({percent}) "
                f"are priced more than {OLD_AFTER_DAYS} days ago")

    def used_text(self) -> str:
        """'as of 2025-08-01 (aws us-east-1 p6-b200.48xlarge on_demand, 489 days old)'."""
        if self.oldest_used is None:
            return "no price used"
        days = self.used_days
        age = "today" if days == 0 else f"{days:,} day{'s' if days != 1 else ''} old"
        return f"as of {self.oldest_used.isoformat()} ({self.oldest_used_offer}, {age})"

    def warning(self, what: str = "the plan's oldest price is", verb: str = "searched") -> str:
        """The one-line staleness warning."""
        lead = (f"{what} {self.used_text()}" if self.oldest_used is not None
                else f"the oldest price {verb} is as of {self.oldest_searched}")
        return f"{lead}; {self.searched_text(verb)}; run `gpucost refresh` for current prices"

    def to_json(self) -> dict:
        return {"judged_on": self.today.isoformat(),
                "oldest_used_as_of": self.oldest_used.isoformat() if self.oldest_used else None,
                "oldest_used_offer": self.oldest_used_offer or None,
                "oldest_used_days": self.used_days,
                "searched_offers": self.searched,
                f"searched_older_than_{OLD_AFTER_DAYS}_days": self.searched_old,
                "oldest_searched_as_of": (self.oldest_searched.isoformat()
                                          if self.oldest_searched else None)}

    @classmethod
    def from_json(cls, data: dict) -> PriceAge:
        """Back from :meth:`to_json` (a plan file's ``snapshot.price_age``)."""
        def day(key: str) -> dt.date | None:
            return dt.date.fromisoformat(data[key]) if data.get(key) else None

        return cls(today=day("judged_on") or dt.date.min, oldest_used=day("oldest_used_as_of"),
                   oldest_used_offer=data.get("oldest_used_offer") or "",
                   searched=int(data.get("searched_offers") or 0),
                   searched_old=int(data.get(f"searched_older_than_{OLD_AFTER_DAYS}_days") or 0),
                   oldest_searched=day("oldest_searched_as_of"))


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def offer_label(provider: str, region: str, instance_type: str, pricing: str) -> str:
    return f"{provider} {region} {instance_type} {pricing}"


def _day(value: object) -> dt.date:
    return pd.Timestamp(value).date()  # type: ignore[arg-type]


def price_age(used: Iterable[tuple[str, str, str, str, object]], searched: pd.DataFrame,
              today: dt.date) -> PriceAge:
    """The age of ``used`` prices, given as (provider, region, instance_type, pricing,
    as_of) tuples, and of the ``searched`` offer rows (an offer table or a part of one).

    Rows without a date are ignored for the oldest price (a plan file written by another
    tool may lack them). The oldest used price is the one named; ties go to the first.
    """
    dated = [(_day(row[4]), offer_label(*row[:4])) for row in used if row[4] not in ("", None)]
    oldest = min(dated, key=lambda pair: pair[0]) if dated else (None, "")
    searched = searched.drop_duplicates(["provider", "region", "instance_type", "pricing"]) \
        if len(searched) else searched
    as_of = (pd.to_datetime(searched["as_of"]) if len(searched)
             else pd.Series(dtype="datetime64[ns]"))
    cutoff = pd.Timestamp(today - dt.timedelta(days=OLD_AFTER_DAYS))
    return PriceAge(today=today, oldest_used=oldest[0], oldest_used_offer=oldest[1],
                    searched=len(searched), searched_old=int((as_of < cutoff).sum()),
                    oldest_searched=_day(as_of.min()) if len(as_of) else None)


def offers_age(offers: pd.DataFrame, today: dt.date) -> PriceAge:
    """The age of a listing: every listed offer is used and searched."""
    used = zip(offers["provider"], offers["region"], offers["instance_type"],
               offers["pricing"], offers["as_of"], strict=True)
    return price_age(list(used), offers, today)


def warn_if_stale(age: PriceAge, what: str = "the plan's oldest price is",
                  verb: str = "searched") -> None:
    """Warn (StaleSnapshotWarning; the CLI prints it as one line) when ``age`` is stale."""
    if age.stale:
        import warnings

        from gpucost.catalog.snapshot import StaleSnapshotWarning

        warnings.warn(age.warning(what, verb), StaleSnapshotWarning, stacklevel=2)
