"""Known names listed closest-first, for errors about an unknown name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from gpucost.errors import quote


def closest_first(name: str, known: Iterable[str], limit: int = 8) -> list[str]:
    """``known`` (deduplicated) ordered by similarity to ``name``, at most ``limit``."""
    wanted = name.strip().lower()
    names = list(dict.fromkeys(k for k in known if k))
    score = {k: difflib.SequenceMatcher(None, wanted, k.lower()).ratio() for k in names}
    return sorted(names, key=lambda k: (-score[k], k))[:limit]


def unknown_name_message(kind: str, name: str, known: Iterable[str], limit: int = 8) -> str:
    """"an AWS region, got 'eu-west-1x'; known: eu-west-1, eu-west-2, ... (closest first)"."""
    names = list(dict.fromkeys(k for k in known if k))
    shown = closest_first(name, names, limit)
    more = f", ... ({len(names) - len(shown)} more)" if len(names) > len(shown) else ""
    listing = f"; known: {', '.join(shown)}{more} (closest first)" if shown else ""
    return f"{kind}, got {quote(name)}{listing}"
