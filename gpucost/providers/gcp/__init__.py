"""Google Cloud adapter (Compute Engine GPU offers priced from the Cloud Billing Catalog).

Importing this package does not import the Google Cloud SDK: ``compute_v1`` and
``billing_v1`` are imported inside the functions that call them.
"""

from gpucost.providers.gcp.provider import GcpProvider

__all__ = ["GcpProvider"]
