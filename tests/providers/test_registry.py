"""A fourth cloud from another package, through the `gpucost.providers` entry-point group:
a real distribution's metadata on sys.path, found by importlib.metadata."""

from __future__ import annotations

import sys
import textwrap

import pytest

from gpucost.catalog.snapshot import read_snapshot_file
from gpucost.cli import main
from gpucost.providers import REGISTRY, get_provider, provider_names

PROVIDER = textwrap.dedent('''
    import pandas as pd
    from gpucost.catalog.schema import coerce_offers
    from gpucost.providers.base import FetchResult

    class FourthProvider:
        name = "fourth"

        def fetch(self, regions=None, progress=None):
            row = {"provider": "fourth", "region": "r1", "instance_type": "big-8x",
                   "gpu": "H100", "gpu_count": 8, "gpu_memory_gib": 80, "vcpus": 96,
                   "memory_gib": 1024, "pricing": "on_demand", "usd_per_hour": 20.0,
                   "as_of": "2026-01-01", "source": "fourth api"}
            if progress:
                progress("r1", None)
            return FetchResult(coerce_offers(pd.DataFrame([row]), "fourth"))

    class Impostor(FourthProvider):
        name = "aws"
''')


@pytest.fixture
def fourth_cloud(tmp_path, monkeypatch):
    site = tmp_path / "site"
    dist = site / "gpucost_fourth-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: gpucost-fourth\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[gpucost.providers]\nfourth = gpucost_fourth:FourthProvider\n"
        "aws = gpucost_fourth:Impostor\n")
    (site / "gpucost_fourth.py").write_text(PROVIDER)
    monkeypatch.syspath_prepend(str(site))
    yield
    sys.modules.pop("gpucost_fourth", None)


def test_entry_point_provider_is_registered_and_refreshes(fourth_cloud, tmp_path, capsys):
    assert "fourth" in provider_names()
    assert type(get_provider("aws")).__module__ == "gpucost.providers.aws.provider"
    assert REGISTRY["aws"] == "gpucost.providers.aws:AwsProvider"
    with pytest.raises(SystemExit) as exit_:
        main(["refresh", "--provider", "fourth", "--out", str(tmp_path / "out")])
    assert exit_.value.code == 0, capsys.readouterr().err
    (written,) = (tmp_path / "out" / "fourth").glob("*.csv")
    offers = read_snapshot_file(written)
    assert list(offers["instance_type"]) == ["big-8x"]


def test_without_the_package_the_name_is_unknown():
    assert "fourth" not in provider_names()
