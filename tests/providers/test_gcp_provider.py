"""GcpProvider end to end: the real google-cloud clients (REST transport, anonymous
credentials) answered at the HTTP layer by ``responses`` with pages shaped like the real
APIs (tests/providers/gcp_data/*.json). No network.

Prices in the fixtures (USD/hour, GiB-hour for RAM): A100 GPU 2.933908, A2 core 0.031611,
A2 RAM 0.004237 (the published us-central1 SKUs: a2-highgpu-1g = $3.673385/h).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal as D
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import responses
from google.auth.credentials import AnonymousCredentials

from gpucost.catalog.schema import OFFER_COLUMNS, UnknownGpuWarning
from gpucost.providers import get_provider
from gpucost.providers.base import ProviderUnavailable
from gpucost.providers.gcp import GcpProvider
from gpucost.providers.gcp import provider as gcp_provider

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "gcp_data"
MACHINE_TYPES = "https://compute.googleapis.com/compute/v1/projects/P/aggregated/machineTypes"
ACCELERATOR_TYPES = "https://compute.googleapis.com/compute/v1/projects/P/aggregated/acceleratorTypes"
SKUS = "https://cloudbilling.googleapis.com/v1/services/6F81-5844-456A/skus"

# The fixtures' unit prices (us-central1 = "Americas", europe-west4 = "Netherlands").
A100, A2_CORE, A2_RAM = D("2.933908"), D("0.031611"), D("0.004237")
A100_SPOT, A2_CORE_SPOT, A2_RAM_SPOT = D("1.173563"), D("0.012644"), D("0.001695")
L4, G2_CORE, G2_RAM = D("0.560040"), D("0.024988"), D("0.002928")
L4_NL, G2_CORE_NL, G2_RAM_NL = D("0.616044"), D("0.027487"), D("0.003221")
H100, A3_CORE, A3_RAM = D("9.796550569"), D("0.029563"), D("0.002513")
T4, V100, N1_CORE, N1_RAM = D("0.35"), D("2.48"), D("0.031611"), D("0.004237")
T4_SPOT, N1_CORE_SPOT, N1_RAM_SPOT = D("0.14"), D("0.00698"), D("0.000935")
P100_NL, N1_CORE_NL, N1_RAM_NL = D("1.46"), D("0.034773"), D("0.004661")


def pages(stem: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(DATA.glob(f"{stem}_page*.json"))]


def money(total: D) -> float:
    return float(total.quantize(D("0.000001")))


@dataclass
class GcpWire:
    """Compute Engine and Cloud Billing answered at the HTTP wire (responses): the three
    endpoints, paged by pageToken; records (url, pageToken) of each GET."""

    mock: responses.RequestsMock
    calls: list[tuple[str, str]] = field(default_factory=list)

    def serve(self, url: str, served: list[dict]) -> None:
        by_token = {"": served[0]}
        for previous, page in zip(served, served[1:], strict=False):
            by_token[previous["nextPageToken"]] = page

        def reply(request):  # noqa: ANN001, ANN202 - responses callback
            token = parse_qs(urlsplit(request.url).query).get("pageToken", [""])[0]
            self.calls.append((url, token))
            return 200, {"Content-Type": "application/json"}, json.dumps(by_token[token])

        self.mock.add_callback("GET", url, callback=reply)

    def fail(self, url: str, status: int, message: str) -> None:
        body = {"error": {"code": status, "message": message,
                          "status": "PERMISSION_DENIED" if status == 403 else "INTERNAL"}}
        self.mock.add("GET", url, json=body, status=status)

    def tokens(self, url: str) -> list[str]:
        return [token for called, token in self.calls if called == url]


def serve_all(wire: GcpWire, skip: str | None = None) -> None:
    for url, stem in ((MACHINE_TYPES, "machine_types"), (ACCELERATOR_TYPES, "accelerator_types"),
                      (SKUS, "skus")):
        if url != skip:
            wire.serve(url, pages(stem))


@pytest.fixture
def wire() -> Iterator[GcpWire]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield GcpWire(mock)


def provider() -> GcpProvider:
    return GcpProvider(project="P", credentials=AnonymousCredentials())


@dataclass
class Fetched:
    result: gcp_provider.FetchResult
    progress: list[tuple[str, str | None]]
    calls: GcpWire
    warned: list[str]


@pytest.fixture(scope="module")
def fetched() -> Fetched:
    """One full fetch over every fixture page, shared by the read-only tests below."""
    progress: list[tuple[str, str | None]] = []
    with responses.RequestsMock() as mock, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wire = GcpWire(mock)
        serve_all(wire)
        result = provider().fetch(progress=lambda region, reason: progress.append((region, reason)))
    warned = [str(w.message) for w in caught if issubclass(w.category, UnknownGpuWarning)]
    return Fetched(result, progress, wire, warned)


def row(fetched: Fetched, region: str, instance_type: str, pricing: str = "on_demand") -> pd.Series:
    offers = fetched.result.offers
    hit = offers[(offers.region == region) & (offers.instance_type == instance_type)
                 & (offers.pricing == pricing)]
    assert len(hit) == 1, f"expected one {region} {instance_type} {pricing} row, got {len(hit)}"
    return hit.iloc[0]


def test_a2_highgpu_1g_is_priced_from_its_gpu_core_and_ram_skus(fetched: Fetched) -> None:
    offer = row(fetched, "us-central1", "a2-highgpu-1g")
    expected = 1 * A100 + 12 * A2_CORE + 85 * A2_RAM
    assert expected == D("3.673385")  # Google's published a2-highgpu-1g price
    assert offer.usd_per_hour == money(expected)
    assert (offer.gpu, offer.gpu_count, offer.gpu_memory_gib) == ("A100-40GB", 1, 40.0)
    assert (offer.vcpus, offer.memory_gib) == (12, 85.0)
    assert offer.zone == "us-central1-a,us-central1-b,us-central1-c"  # zones on both pages
    assert (offer.provider, offer.source, offer.stale) == ("gcp", "gcp cloud billing catalog",
                                                           False)
    assert offer.as_of == pd.Timestamp.today().normalize()


def test_g2_standard_4_l4_uses_each_regions_own_skus(fetched: Fetched) -> None:
    us = row(fetched, "us-central1", "g2-standard-4")
    nl = row(fetched, "europe-west4", "g2-standard-4")
    assert us.usd_per_hour == money(L4 + 4 * G2_CORE + 16 * G2_RAM) == 0.70684
    assert nl.usd_per_hour == money(L4_NL + 4 * G2_CORE_NL + 16 * G2_RAM_NL)
    assert (us.gpu, us.gpu_count, us.gpu_memory_gib, us.vcpus, us.memory_gib) == (
        "L4", 1, 24.0, 4, 16.0)
    assert nl.zone == "europe-west4-a,europe-west4-b"


def test_a3_highgpu_8g_h100(fetched: Fetched) -> None:
    offer = row(fetched, "us-central1", "a3-highgpu-8g")
    assert offer.usd_per_hour == money(8 * H100 + 208 * A3_CORE + 1872 * A3_RAM) == 89.225845
    assert (offer.gpu, offer.gpu_count, offer.gpu_memory_gib) == ("H100", 8, 80.0)
    assert (offer.vcpus, offer.memory_gib, offer.zone) == (208, 1872.0, "us-central1-b")


def test_n1_shapes_with_attached_t4_and_v100(fetched: Fetched) -> None:
    offers = fetched.result.offers
    n1 = offers[(offers.region == "us-central1") & offers.instance_type.str.startswith("n1-")
                & (offers.pricing == "on_demand")]
    assert sorted(n1.instance_type) == sorted([
        "n1-standard-8+1xT4", "n1-standard-16+2xT4", "n1-standard-32+4xT4",
        "n1-standard-8+1xV100-16GB", "n1-standard-16+2xV100-16GB",
        "n1-standard-32+4xV100-16GB", "n1-standard-64+8xV100-16GB"])
    t4 = row(fetched, "us-central1", "n1-standard-16+2xT4")
    assert t4.usd_per_hour == money(2 * T4 + 16 * N1_CORE + 60 * N1_RAM)
    assert (t4.gpu, t4.gpu_count, t4.gpu_memory_gib, t4.vcpus, t4.memory_gib) == (
        "T4", 2, 16.0, 16, 60.0)
    assert t4.zone == "us-central1-a,us-central1-b"
    v100 = row(fetched, "us-central1", "n1-standard-64+8xV100-16GB")
    assert v100.usd_per_hour == money(8 * V100 + 64 * N1_CORE + 240 * N1_RAM) == 22.879984
    assert v100.zone == "us-central1-a"
    # nvidia-tesla-a100 is listed as an accelerator type but only comes with a2 machines
    assert not offers.instance_type.str.contains("A100").any()


def test_spot_rows_come_from_preemptible_skus(fetched: Fetched) -> None:
    a2 = row(fetched, "us-central1", "a2-highgpu-1g", "spot")
    assert a2.usd_per_hour == money(A100_SPOT + 12 * A2_CORE_SPOT + 85 * A2_RAM_SPOT)
    assert a2.usd_per_hour < row(fetched, "us-central1", "a2-highgpu-1g").usd_per_hour
    t4 = row(fetched, "us-central1", "n1-standard-8+1xT4", "spot")
    assert t4.usd_per_hour == money(T4_SPOT + 8 * N1_CORE_SPOT + 30 * N1_RAM_SPOT)
    spot = fetched.result.offers.query("pricing == 'spot'")
    # no Preemptible H100 or V100 SKU in the fixture, and none in europe-west4: no spot row
    assert sorted(spot.instance_type) == sorted([
        "a2-highgpu-1g", "g2-standard-4", "n1-standard-8+1xT4", "n1-standard-16+2xT4",
        "n1-standard-32+4xT4"])
    assert set(spot.region) == {"us-central1"}


def test_every_page_is_followed(fetched: Fetched) -> None:
    calls = fetched.calls
    assert calls.tokens(MACHINE_TYPES) == ["", "mt-page-2"]
    assert calls.tokens(ACCELERATOR_TYPES) == ["", "acc-page-2"]
    assert calls.tokens(SKUS) == ["", "sku-page-2"]
    # europe-west4 appears only on the second machine-type page and is priced only by
    # second-page SKUs; the T4 SKU (page 2) prices us-central1 machines from page 1.
    assert row(fetched, "europe-west4", "a3-highgpu-8g").usd_per_hour > 0
    assert row(fetched, "us-central1", "n1-standard-8+1xT4").usd_per_hour == money(
        T4 + 8 * N1_CORE + 30 * N1_RAM)


def test_region_failures_are_reported_and_others_still_return(fetched: Fetched) -> None:
    result = fetched.result
    assert result.failed_regions == {
        "asia-east1": "zone(s) unreachable: asia-east1-c",
        "me-west1": "no matching billing SKUs for 1 instance type(s)",
    }
    assert fetched.progress == [
        ("asia-east1", "zone(s) unreachable: asia-east1-c"),
        ("europe-west4", None),
        ("me-west1", "no matching billing SKUs for 1 instance type(s)"),
        ("us-central1", None),
    ]
    assert set(result.offers.region) == {"us-central1", "europe-west4"}
    assert result.quotas is None


def test_offers_follow_the_schema(fetched: Fetched) -> None:
    offers = fetched.result.offers
    assert list(offers.columns) == list(OFFER_COLUMNS)
    assert len(offers) == 23  # 15 in us-central1, 8 in europe-west4
    assert not offers.duplicated(["provider", "region", "instance_type", "pricing"]).any()
    assert "a2-megagpu-16g" not in set(offers.instance_type)  # OBSOLETE machine type


def test_gpu_missing_from_the_spec_table_is_kept_and_flagged(fetched: Fetched) -> None:
    p100 = row(fetched, "europe-west4", "n1-standard-8+1xnvidia-tesla-p100")
    assert (p100.gpu, p100.gpu_memory_gib) == ("nvidia-tesla-p100", 16.0)
    assert p100.usd_per_hour == money(P100_NL + 8 * N1_CORE_NL + 30 * N1_RAM_NL)
    assert any("nvidia-tesla-p100" in message for message in fetched.warned)


def test_offers_without_a_sku_are_skipped_and_logged(wire: GcpWire,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    serve_all(wire)
    with caplog.at_level(logging.WARNING, logger="gpucost.providers.gcp"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownGpuWarning)
        result = provider().fetch(regions=["us-central1"])
    assert set(result.offers.region) == {"us-central1"}
    message = "\n".join(r.getMessage() for r in caplog.records)
    assert "a3-highgpu-8g spot: no spot gpu SKU 'nvidia h100 80gb' in us-central1" in message
    assert "n1-standard-8+1xV100-16GB spot" in message


def test_requested_regions_only(wire: GcpWire) -> None:
    serve_all(wire)
    progress: list[tuple[str, str | None]] = []
    result = provider().fetch(regions=["us-central1", "nowhere1", "us-central1"],
                              progress=lambda r, reason: progress.append((r, reason)))
    assert set(result.offers.region) == {"us-central1"}
    reason = "no GPU machine types or accelerators listed in this region"
    assert result.failed_regions == {"nowhere1": reason}
    assert progress == [("us-central1", None), ("nowhere1", reason)]


def test_access_denied_makes_the_provider_unavailable(wire: GcpWire) -> None:
    serve_all(wire, skip=SKUS)
    wire.fail(SKUS, 403, "Cloud Billing API has not been used in project P before or it is "
                         "disabled.")
    with pytest.raises(ProviderUnavailable) as err:
        provider().fetch(regions=["us-central1"])  # denied access is not a region failure
    assert str(err.value) == ("gcp: billing SKUs: HTTP 403 Cloud Billing API has not been used "
                              "in project P before or it is disabled.")


def test_server_error_fails_the_requested_regions(wire: GcpWire,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gcp_provider, "RETRY_DEADLINE_S", 0.0)  # no retry sleeps in tests
    serve_all(wire, skip=MACHINE_TYPES)
    wire.fail(MACHINE_TYPES, 500, "Internal error. Please try again.")
    progress: list[tuple[str, str | None]] = []
    result = provider().fetch(regions=["us-central1", "europe-west4"],
                              progress=lambda r, reason: progress.append((r, reason)))
    reason = "machine types: HTTP 500 Internal error. Please try again."
    assert result.failed_regions == {"us-central1": reason, "europe-west4": reason}
    assert result.offers.empty and list(result.offers.columns) == list(OFFER_COLUMNS)
    assert progress == [("us-central1", reason), ("europe-west4", reason)]
    with pytest.raises(ProviderUnavailable, match="^gcp: machine types: HTTP 500"):
        provider().fetch()  # no regions asked: nothing to attribute the failure to


def raise_no_adc(*args: object, **kwargs: object) -> None:
    from google.auth.exceptions import DefaultCredentialsError

    raise DefaultCredentialsError("Your default credentials were not found.")


def test_missing_credentials_raise_provider_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("google.auth.default", raise_no_adc)
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    with pytest.raises(ProviderUnavailable) as err:
        get_provider("gcp").fetch()
    assert str(err.value) == gcp_provider.NO_CREDENTIALS
    assert "\n" not in str(err.value) and "gcloud auth application-default login" in str(err.value)


def test_missing_project_raises_provider_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("google.auth.default", raise_no_adc)  # must not even be asked
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    with pytest.raises(ProviderUnavailable, match="GOOGLE_CLOUD_PROJECT"):
        GcpProvider(credentials=AnonymousCredentials()).fetch()


def test_application_default_credentials_and_env_project(wire: GcpWire,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("google.auth.default",
                        lambda scopes=None, **kw: (AnonymousCredentials(), None))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "P")
    serve_all(wire)
    result = GcpProvider().fetch(regions=["us-central1"])
    assert len(result.offers) == 15
    assert wire.tokens(MACHINE_TYPES) == ["", "mt-page-2"]  # i.e. projects/P was asked


def test_importing_the_adapter_does_not_import_the_sdk() -> None:
    code = ("import gpucost.providers.gcp, sys; "
            "assert 'google.cloud.compute_v1' not in sys.modules, 'compute_v1 imported'; "
            "assert 'google.cloud.billing_v1' not in sys.modules, 'billing_v1 imported'")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
