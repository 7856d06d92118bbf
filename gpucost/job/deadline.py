"""Deadlines: ``36h``, ``30d``, ``2w``, ``90m`` or an ISO date/time, turned into hours."""

from __future__ import annotations

import datetime as dt
import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT_HOURS = {"m": 1 / 60, "min": 1 / 60, "h": 1.0, "d": 24.0, "w": 168.0}


def parse_deadline(text: object, now: dt.datetime) -> float | None:
    """Hours from ``now`` until the deadline ``text``, or ``None`` if unparseable.

    Durations are relative (``36h``, ``30d``, ``2w``, ``90m``; a bare number is hours).
    An ISO date means the *end* of that day in UTC; an ISO date-time without a zone is
    taken as UTC. A deadline in the past gives a negative number (the caller rejects it).
    """
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return float(text)
    if isinstance(text, dt.datetime):
        moment = text
    elif isinstance(text, dt.date):
        moment = dt.datetime.combine(text, dt.time.max)
    elif isinstance(text, str):
        match = _DURATION.match(text)
        if match:
            return float(match.group(1)) * _UNIT_HOURS[match.group(2).lower()]
        try:
            moment = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            return None
        if re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", text):
            moment = dt.datetime.combine(moment.date(), dt.time.max)
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment - now).total_seconds() / 3600.0
