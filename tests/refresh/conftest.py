import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import static_provider  # noqa: E402

from gpucost import providers  # noqa: E402


@pytest.fixture
def static(monkeypatch):
    """Register the static provider and reset its state."""
    monkeypatch.setitem(providers.REGISTRY, "static", "static_provider:StaticProvider")
    static_provider.TABLE.clear()
    static_provider.FAIL_REGIONS.clear()
    static_provider.UNAVAILABLE.clear()
    return static_provider


@pytest.fixture(autouse=True)
def no_cloud_credentials(monkeypatch, tmp_path):
    """No real credentials, and no metadata-server lookups, in refresh tests."""
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                "AWS_PROFILE", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "no-gcloud"))
