"""Render rows as an aligned text table, markdown, CSV or JSON.

Tables and markdown are for people, so numbers are shown with the precision they have
(prices as listed, derived ratios to three significant figures). CSV and JSON are for
scripts and carry every column at full precision.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from gpucost.formatting import OUTPUT_FORMATS  # noqa: F401  (defined there: light to import)

Formatter = Callable[[Any], str]


# C0/C1 control characters (escape sequences, carriage returns, bells) never reach a
# terminal from data: a snapshot or job file could otherwise rewrite what is shown.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
# Spreadsheets run a cell starting with one of these as a formula (=HYPERLINK(...),
# =cmd|...): CSV cells of text that do are prefixed with ' (the OWASP rule).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def clean_text(text: str) -> str:
    """``text`` without control characters other than newlines (for text output)."""
    return _CONTROL_BUT_NEWLINE.sub("", text)


def clean_cell(text: str) -> str:
    """One table cell: no control characters at all (a newline would break the row)."""
    return _CONTROL.sub("", text)


def csv_safe(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, neutralised with a leading '."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _cell(value: Any, formatter: Formatter | None) -> str:
    if formatter is not None:
        return formatter(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, pd.Timestamp | dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def text_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """Left-aligned text columns (right-aligned where every cell looks numeric)."""
    rows = [[clean_cell(str(c)) for c in r] for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(header)]
    numeric = [bool(rows) and all(_looks_numeric(r[i]) for r in rows)
               and any(r[i] not in ("-", "") for r in rows) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w)
                 for c, w, num in zip(cells, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def markdown_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """A GitHub-flavoured markdown table."""
    rows = [[clean_cell(str(c)) for c in r] for r in rows]
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])


def _looks_numeric(text: str) -> bool:
    stripped = text.replace("$", "").replace(",", "").replace("-", "").strip()
    return stripped.replace(".", "", 1).isdigit() or text in ("-", "")


def json_ready(value: Any) -> Any:
    """Plain JSON types for dates, numpy scalars and NaN (null)."""
    if isinstance(value, pd.Timestamp | dt.date):
        return value.strftime("%Y-%m-%d")
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def render_frame(df: pd.DataFrame, fmt: str, table_columns: Sequence[str] | None = None,
                 formatters: dict[str, Formatter] | None = None) -> str:
    """Render ``df``: ``table``/``markdown`` show ``table_columns`` formatted for people;
    ``csv``/``json`` carry every column of ``df``."""
    if fmt == "csv":
        out = df.copy()
        for column in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[column]):
                out[column] = out[column].dt.strftime("%Y-%m-%d")
            elif (pd.api.types.is_object_dtype(out[column])
                  or pd.api.types.is_string_dtype(out[column])):
                out[column] = out[column].map(csv_safe)
        return out.to_csv(index=False, lineterminator="\n").rstrip("\n")
    if fmt == "json":
        records = [{k: json_ready(v) for k, v in row.items()}
                   for row in df.to_dict(orient="records")]
        return json.dumps(records, indent=2)
    columns = list(table_columns or df.columns)
    formatters = formatters or {}
    rows = [[_cell(row[c], formatters.get(c)) for c in columns]
            for row in df[columns].to_dict(orient="records")]
    if fmt == "markdown":
        return markdown_table(rows, columns)
    return text_table(rows, columns)
