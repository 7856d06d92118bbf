"""Spot Instance Advisor data: parsed from its documented shape, fetched over HTTP
(answered by `responses`), written beside the prices and kept when a read fails."""

from __future__ import annotations

import datetime as dt

import pytest
import responses

from gpucost.catalog.interruptions import read_interruptions
from gpucost.providers.aws.spot_advisor import (
    ADVISOR_URL,
    AdvisorError,
    fetch_advisor,
    parse_advisor,
)

DOC = {"global_rate": "<10%",
       "ranges": [{"index": i, "label": label, "dots": i, "max": m} for i, (label, m) in
                  enumerate([("<5%", 5), ("5-10%", 11), ("10-15%", 16), ("15-20%", 22),
                             (">20%", 100)])],
       "instance_types": {"p5.48xlarge": {"emr": False, "cores": 192, "ram_gb": 2048.0}},
       "spot_advisor": {
           "us-east-1": {"Linux": {"p5.48xlarge": {"s": 52, "r": 4},
                                   "p5en.48xlarge": {"s": 64, "r": 0},
                                   "m5.large": {"s": 40, "r": 1}},
                         "Windows": {"p5.48xlarge": {"s": 10, "r": 0}}},
           "eu-west-1": {"Linux": {"p5.48xlarge": {"s": 44, "r": 2}}}}}


def test_parse_keeps_linux_pools_of_the_asked_types_and_regions():
    table = parse_advisor(DOC, dt.date(2026, 11, 25),
                          instance_types=["p5.48xlarge", "p5en.48xlarge"],
                          regions=["us-east-1"])
    assert list(zip(table["instance_type"], table["band"], table["savings_pct"],
                    strict=True)) == [("p5.48xlarge", ">20%", 52.0), ("p5en.48xlarge", "<5%", 64.0)]
    assert set(table["as_of"]) == {"2026-11-25"}


@pytest.mark.parametrize("bad", [[], {"ranges": "x"}, {**DOC, "ranges": [{"index": 0,
                                                                         "label": "low"}]},
                                 {**DOC, "spot_advisor": {"us-east-1": {"Linux": {
                                     "p5.48xlarge": {"s": 1, "r": 9}}}}}])
def test_a_document_of_another_shape_is_refused_in_one_line(bad):
    with pytest.raises(AdvisorError) as info:
        parse_advisor(bad, dt.date(2026, 11, 25))
    assert "\n" not in str(info.value)


@responses.activate
def test_fetch_reads_the_public_file_and_reports_failures():
    responses.get(ADVISOR_URL, json=DOC)
    assert fetch_advisor(timeout=5)["global_rate"] == "<10%"
    responses.replace(responses.GET, ADVISOR_URL, body="<html>maintenance</html>")
    with pytest.raises(AdvisorError, match="not JSON"):
        fetch_advisor(timeout=5)
    responses.replace(responses.GET, ADVISOR_URL, status=503)
    with pytest.raises(AdvisorError, match="could not read"):
        fetch_advisor(timeout=5)


def test_refresh_writes_bands_and_keeps_the_old_ones_when_the_read_fails(tmp_path):
    from gpucost.catalog.snapshot import SnapshotFile
    from gpucost.providers.base import FetchResult
    from gpucost.refresh.run import _write_interruptions

    fresh = parse_advisor(DOC, dt.date(2026, 11, 1), regions=["us-east-1"])
    _write_interruptions(FetchResult(offers=None, interruptions=fresh), None, tmp_path, "aws",
                         dt.date(2026, 11, 1), print)
    first = tmp_path / "aws" / "2026-11-01.interruptions.csv"
    assert len(read_interruptions(first)) == 3
    previous = SnapshotFile(tmp_path / "aws" / "2026-11-01.csv", "aws", dt.date(2026, 11, 1))
    said = []
    _write_interruptions(FetchResult(offers=None, interruptions=None), previous, tmp_path,
                         "aws", dt.date(2026, 11, 25), said.append)
    kept = read_interruptions(tmp_path / "aws" / "2026-11-25.interruptions.csv")
    assert kept.equals(read_interruptions(first))  # the old rows, their old dates
    assert said == ["aws: spot interruption data not refreshed; kept the 2026-11-01 bands"]
