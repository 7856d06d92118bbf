"""Lambda Cloud adapter (GPU instance types and prices from one API call).

The package is ``lambda_cloud`` because ``lambda`` is a Python keyword; the provider's
registry name is ``lambda``. ``requests`` is imported inside the fetch.
"""

from gpucost.providers.lambda_cloud.provider import LambdaProvider

__all__ = ["LambdaProvider"]
