"""Numbers for people: shown with the precision they have, in the units people use.

Shared by the planner's messages, the reports and the launcher (CSV and JSON output keep
full precision and do not use these).
"""

from __future__ import annotations

import math
import re

# What ``--output`` accepts for tables (gpucost.report.tables renders them).
OUTPUT_FORMATS = ("table", "csv", "json", "markdown")


def sig(value: float | None, digits: int = 3) -> str:
    """``value`` to ``digits`` significant figures, without exponent for everyday sizes."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= 9 or magnitude <= -5:
        return f"{value:.{digits - 1}e}"
    decimals = max(digits - 1 - magnitude, 0)
    rounded = round(value, digits - 1 - magnitude)
    return f"{rounded:,.{decimals}f}"


def money(value: float | None) -> str:
    """Dollars for people: cents under $1,000, whole dollars above, 3-4 significant figures."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 1000:
        return "$" + sig(value, 4 if abs(value) < 10_000 else 3)
    return f"${value:,.2f}"


def hours_text(hours: float) -> str:
    """Duration in the unit people think in: hours below two days, days above."""
    if math.isinf(hours):
        return "never"
    if hours < 48:
        return f"{sig(hours, 3)} h"
    return f"{sig(hours / 24, 3)} days"


# ``scheme://userinfo@`` in any URL: endpoint overrides such as
# AWS_ENDPOINT_URL=http://user:secret@host carry credentials that error messages echo.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"<>]*@")


def redact_urls(text: str) -> str:
    """``text`` with the user:password part of every URL replaced by ``***``."""
    return _URL_USERINFO.sub(r"\1***@", text)
