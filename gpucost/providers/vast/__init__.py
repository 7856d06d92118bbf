"""Vast.ai marketplace offers (see :mod:`gpucost.providers.vast.provider`)."""

from gpucost.providers.vast.provider import VastProvider

__all__ = ["VastProvider"]
