"""Two refreshes into one s3:// folder at once (issue 19, item 12) through the CLI against
moto's S3 server, which honours If-Match / If-None-Match as S3 does. The interleaving that
lost a refresh's prices is forced: refresh A reads the bucket, refresh B runs from start
to end, then A writes. A's conditional write fails, A merges B's rows and writes again."""

from __future__ import annotations

import pytest

import gpucost.cli.refresh_command as refresh_command
from gpucost.catalog.snapshot import load_catalog
from tests.catalog.test_remote import isolated, market, run, s3_endpoint  # noqa: F401
from tests.providers.azure_retail_server import RetailServer


def test_a_refresh_that_wrote_meanwhile_is_merged_not_lost(s3_endpoint, capsys,  # noqa: F811
                                                           monkeypatch):
    location = "s3://team/concurrent"
    staged = refresh_command.staging_folder
    inner: list[tuple[int, str, str]] = []

    def stage_then_let_the_other_refresh_run(bucket: str):
        folder = staged(bucket)
        if not inner:  # A has read the bucket: now B runs from start to end
            inner.append((0, "", ""))
            inner[0] = run_b()
        return folder

    def run_b() -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit_:
            refresh_command_main("westus3")
        return exit_.value.code, "", ""

    def refresh_command_main(region: str) -> None:
        from gpucost.cli import main

        main(["refresh", "--provider", "azure", "--regions", region, "--out", location])

    monkeypatch.setattr(refresh_command, "staging_folder", stage_then_let_the_other_refresh_run)
    with RetailServer(market()) as retail:
        monkeypatch.setenv("GPUCOST_AZURE_PRICES_URL", retail.url)
        code, out, err = run(capsys, "refresh", "--provider", "azure", "--regions", "eastus",
                             "--out", location)
    assert inner and inner[0][0] == 0  # B wrote first
    assert code == 0, err
    offers = load_catalog(location).offers
    assert sorted(set(offers["region"])) == ["eastus", "westus3"]
    assert not offers["stale"].any()
    assert len(offers) == len(market())
    assert "changed while this refresh ran; merging its rows and writing again" in err
