"""Deterministic names, tokens and label values derived from a plan id.

Everything here is a pure function of the plan id and the allocation index, so that a
retried launch asks the cloud for the very same things: EC2 answers a repeated
``ClientToken`` with the original reservation, GCE refuses a second instance of the same
name (``409 alreadyExists``), so a retry never creates a second set.
"""

from __future__ import annotations

import hashlib
import re

from gpucost.errors import InputError
from gpucost.planner.plan import PLAN_ID_NAME_MAX, PLAN_ID_PATTERN

_GCE_MAX = 63


def check_plan_id(plan_id: str, where: str = "PLAN_ID", field: str = "plan id") -> str:
    """``plan_id`` if it has the form ``gpucost plan`` gives ids, else an InputError.

    Plan ids become EC2 filter values and GCE label filters, where ``*`` and ``?`` are
    wildcards: anything but the exact form (``<job name>-<8 hex>``, the name part letters,
    digits, '.', '_' and '-') is refused before any cloud is asked.
    """
    if not isinstance(plan_id, str) or not PLAN_ID_PATTERN.fullmatch(plan_id):
        shown = plan_id if isinstance(plan_id, str) and len(plan_id) <= 80 else \
            f"{str(plan_id)[:77]}..."
        raise InputError(where, field, "the form <job name>-<8 hex digits> that "
                         f"`gpucost plan` prints (a name of letters, digits, '.', '_' or '-', "
                         f"at most {PLAN_ID_NAME_MAX} characters; no wildcards), got {shown!r}")
    return plan_id


def client_token(plan_id: str, allocation: int, generation: int = 0, rank: int = 0) -> str:
    """EC2 ``ClientToken`` (<= 64 ASCII chars) for instance ``rank`` of one allocation.

    ``generation`` 0 is the first launch; the AWS backend moves to the next generation
    only when EC2 answers a token with instances that are all terminated (the plan was
    rolled back or taken down before), so a retry never creates a second set.
    """
    key = f"{plan_id}:{allocation}" + (f":{generation}" if generation else "") + (
        f"#{rank}" if rank else "")
    return f"gpucost-{hashlib.sha256(key.encode()).hexdigest()[:48]}"


def label_value(text: str) -> str:
    """A valid GCE label value: lowercase letters, digits, '-' and '_', <= 63 chars."""
    value = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")
    return value[:_GCE_MAX]


def gce_name(plan_id: str, allocation: int, n: int) -> str:
    """``<plan-id>-<alloc>-<n>`` as a valid GCE instance name.

    Lowercase, starts with a letter, <= 63 chars; a long job name is shortened from
    its end so that the plan id's hash suffix (what makes it unique) is kept.
    """
    suffix = f"-{allocation}-{n}"
    base = re.sub(r"[^a-z0-9-]+", "-", plan_id.lower())
    base = re.sub(r"-{2,}", "-", base).strip("-") or "plan"
    if not base[0].isalpha():
        base = f"g-{base}"
    room = _GCE_MAX - len(suffix)
    if len(base) > room:
        head, _, tail = base.rpartition("-")
        keep = room - len(tail) - 1
        base = f"{head[:keep].rstrip('-')}-{tail}" if keep > 0 else base[:room]
    return f"{base}{suffix}"


def placement_group_name(plan_id: str) -> str:
    """The EC2 cluster placement group of a plan (<= 255 chars, any ASCII)."""
    return f"gpucost-{plan_id}"[:255]
