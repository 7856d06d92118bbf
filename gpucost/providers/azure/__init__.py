"""Azure adapter (GPU VM offers priced from the public Azure Retail Prices API).

Importing this package imports neither ``requests`` nor the Azure SDK: both are imported
inside the functions that call them.
"""

from gpucost.providers.azure.provider import AzureProvider

__all__ = ["AzureProvider"]
