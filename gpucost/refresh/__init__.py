"""``gpucost refresh``: fetch live offers through the provider registry into snapshots.

``merge`` and ``diff`` are pure; ``run`` does the I/O (adapters, files, progress).
"""

from gpucost.refresh.run import ProviderOutcome, refresh

__all__ = ["ProviderOutcome", "refresh"]
