"""AWS Spot Instance Advisor data: how often each spot pool is interrupted.

The advisor page (aws.amazon.com/ec2/spot/instance-advisor) reads one public JSON file,
``spot-advisor-data.json``, shaped::

    {"global_rate": "<10%",
     "ranges": [{"index": 0, "label": "<5%", "dots": 0, "max": 5}, ...,
                {"index": 4, "label": ">20%", "dots": 4, "max": 100}],
     "instance_types": {"p5.48xlarge": {"emr": false, "cores": 192, "ram_gb": 2048.0}},
     "spot_advisor": {"us-east-1": {"Linux": {"p5.48xlarge": {"s": 52, "r": 4}},
                                    "Windows": {...}}}}

``r`` indexes ``ranges`` (the interruption band over the trailing month) and ``s`` is
the saving over on-demand in %. :func:`parse_advisor` turns it into rows of the
interruption table (:mod:`gpucost.catalog.interruptions`); the URL can be pointed
elsewhere with ``GPUCOST_SPOT_ADVISOR_URL`` (a mirror, or a test server).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from gpucost.catalog.interruptions import BANDS, INTERRUPTION_COLUMNS, empty_interruptions

ADVISOR_URL = "https://spot-bid-advisor.s3.amazonaws.com/spot-advisor-data.json"
URL_ENV = "GPUCOST_SPOT_ADVISOR_URL"
SOURCE = "AWS Spot Instance Advisor (spot-advisor-data.json)"
MAX_BYTES = 16 * 2**20  # the real file is ~1 MB


class AdvisorError(ValueError):
    """The advisor data is missing or not shaped as documented."""


def parse_advisor(data: Any, as_of: dt.date, *, instance_types: Iterable[str] | None = None,
                  regions: Iterable[str] | None = None, source: str = SOURCE,
                  os_name: str = "Linux") -> pd.DataFrame:
    """Interruption rows (one per region and instance type) of an advisor document,
    limited to ``instance_types`` / ``regions`` when given."""
    if not isinstance(data, Mapping):
        raise AdvisorError("expected a JSON object with ranges and spot_advisor")
    ranges, advisor = data.get("ranges"), data.get("spot_advisor")
    if not isinstance(ranges, list) or not isinstance(advisor, Mapping):
        raise AdvisorError("expected a JSON object with ranges and spot_advisor")
    labels: dict[int, str] = {}
    for item in ranges:
        if not isinstance(item, Mapping) or item.get("label") not in BANDS \
                or not isinstance(item.get("index"), int):
            raise AdvisorError(f"ranges: expected {{index, label}} with a label among "
                               f"{', '.join(BANDS)}, got {str(item)[:80]}")
        labels[item["index"]] = item["label"]
    wanted_types = set(instance_types) if instance_types is not None else None
    wanted_regions = set(regions) if regions is not None else None
    rows = []
    for region, by_os in advisor.items():
        if wanted_regions is not None and region not in wanted_regions:
            continue
        pools = by_os.get(os_name) if isinstance(by_os, Mapping) else None
        if not isinstance(pools, Mapping):
            continue
        for itype, stats in pools.items():
            if wanted_types is not None and itype not in wanted_types:
                continue
            if not isinstance(stats, Mapping) or stats.get("r") not in labels:
                raise AdvisorError(f"spot_advisor.{region}.{os_name}.{itype}: expected "
                                   f"{{r: band index, s: savings %}}, got {str(stats)[:80]}")
            savings = stats.get("s", 0)
            if isinstance(savings, bool) or not isinstance(savings, int | float) \
                    or not 0 <= savings <= 100:
                savings = 0
            rows.append({"provider": "aws", "region": region, "instance_type": itype,
                         "band": labels[stats["r"]], "savings_pct": float(savings),
                         "as_of": as_of.isoformat(), "source": source})
    if not rows:
        return empty_interruptions()
    return (pd.DataFrame(rows, columns=INTERRUPTION_COLUMNS)
            .sort_values(["region", "instance_type"]).reset_index(drop=True))


def fetch_advisor(timeout: float = 60.0, session: Any = None) -> Any:
    """The advisor document (``requests`` is imported here: refresh only)."""
    import requests

    url = os.environ.get(URL_ENV, ADVISOR_URL)
    http = session or requests.Session()
    try:
        response = http.get(url, timeout=timeout)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise AdvisorError(f"could not read {url}: {exc}") from None
    if len(response.content) > MAX_BYTES:
        raise AdvisorError(f"{url}: answer larger than {MAX_BYTES // 2**20} MiB")
    try:
        return response.json()
    except ValueError:
        raise AdvisorError(f"{url}: answer is not JSON") from None
