"""Registries name their entries by import path, so that looking one up never imports a
cloud SDK; this turns such a path into the class it names."""

from __future__ import annotations

from importlib import import_module


def import_class(path: str) -> type:
    """The class at ``"package.module:ClassName"``, imported now."""
    module_name, class_name = path.split(":")
    return getattr(import_module(module_name), class_name)
