"""Rendering for people and scripts: text tables, markdown, CSV and JSON."""
