"""Fixtures for the provider adapter tests (AWS: moto for EC2, botocore Stubber for the rest).

No test here reaches the network: dummy credentials, instance metadata disabled, and
every client is either moto-backed or Stubber-activated.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

AWS_ENV_CLEARED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN",
                   "AWS_SECURITY_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                   "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE",
                   "AWS_ROLE_ARN")


def _isolate_aws(mp: pytest.MonkeyPatch, tmp: Path) -> None:
    for name in AWS_ENV_CLEARED:
        mp.delenv(name, raising=False)
    mp.setenv("AWS_CONFIG_FILE", str(tmp / "no-aws-config"))
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp / "no-aws-credentials"))
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
    mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
    mp.setenv("MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION", "true")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy AWS credentials and no config files: nothing can reach a real account."""
    _isolate_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def aws_no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An environment where botocore finds no credentials at all."""
    _isolate_aws(monkeypatch, tmp_path)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)


@pytest.fixture(scope="module")
def aws_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A module-wide moto mock (EC2 describe calls are slow in moto: share them)."""
    from moto import mock_aws

    with pytest.MonkeyPatch.context() as mp:
        _isolate_aws(mp, tmp_path_factory.mktemp("aws"))
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        with mock_aws():
            yield


def aws_price_item(instance_type: str, region: str, usd: str | None, *,
                   extra_terms: dict | None = None, unit: str = "Hrs") -> str:
    """One PriceList entry shaped like the real get_products answer (a JSON string)."""
    sku = f"SKU{zlib.crc32(f'{instance_type}/{region}'.encode()):010d}"
    dimension: dict = {
        "unit": unit, "endRange": "Inf", "beginRange": "0", "appliesTo": [],
        "rateCode": f"{sku}.JRTCKXETXF.6YS6EN2CT7",
        "description": f"${usd} per On Demand Linux {instance_type} Instance Hour",
        "pricePerUnit": {"USD": usd} if usd is not None else {"CNY": "7.1000000000"},
    }
    on_demand = {f"{sku}.JRTCKXETXF": {
        "priceDimensions": {dimension["rateCode"]: dimension},
        "sku": sku, "effectiveDate": "2025-06-01T00:00:00Z",
        "offerTermCode": "JRTCKXETXF", "termAttributes": {}}}
    on_demand.update(extra_terms or {})
    item = {
        "product": {
            "productFamily": "Compute Instance",
            "attributes": {
                "instanceType": instance_type, "regionCode": region,
                "location": "US East (N. Virginia)", "locationType": "AWS Region",
                "operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA",
                "capacitystatus": "Used", "licenseModel": "No License required",
                "operation": "RunInstances", "servicecode": "AmazonEC2",
                "usagetype": f"BoxUsage:{instance_type}",
            },
            "sku": sku,
        },
        "serviceCode": "AmazonEC2",
        "terms": {"OnDemand": on_demand, "Reserved": {}},
        "version": "20250601000000",
        "publicationDate": "2025-06-01T00:00:00Z",
    }
    return json.dumps(item)


@pytest.fixture
def price_item():
    """The :func:`aws_price_item` builder, as a fixture."""
    return aws_price_item
