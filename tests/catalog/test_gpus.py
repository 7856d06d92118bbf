"""GPU name resolution: provider spellings -> canonical spec-table names, never guessed."""

from __future__ import annotations

import csv
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpucost.catalog.gpus import (
    canonical_gpu,
    gpu_specs,
    is_known_gpu,
    normalize_gpu_name,
    resolve_gpu,
    resolve_gpu_filter,
)


@pytest.mark.parametrize(
    ("name", "memory", "expected"),
    [
        ("nvidia-tesla-a100", None, "A100-40GB"),
        ("NVIDIA A100-SXM4-80GB", None, "A100-80GB"),
        ("A100", 80, "A100-80GB"),
        ("A100", 79.2, "A100-80GB"),  # usable memory as AWS reports it
        ("A100", 40, "A100-40GB"),
        ("A100", 39.5, "A100-40GB"),
        ("A100", None, None),  # ambiguous without memory: never guessed
        ("A100", 60, None),  # matches no variant closely enough
        ("A100", 24, None),
        ("nvidia-h100-80gb", None, "H100"),
        ("nvidia-h100-mega-80gb", None, "H100"),
        ("H100", None, "H100"),
        ("h100-pcie", None, "H100-PCIe"),
        ("nvidia-l4", None, "L4"),
        ("L4", 22.5, "L4"),
        ("NVIDIA L4", None, "L4"),
        ("nvidia-tesla-t4", None, "T4"),
        ("V100", 16, "V100-16GB"),
        ("V100", 32, "V100-32GB"),
        ("V100", None, None),
        ("nvidia-tesla-v100", None, "V100-16GB"),
        ("H200", 140, "H200"),
        ("K80", None, None),
        ("K80", 12, None),
        ("", None, None),
    ],
)
def test_resolve_gpu(name, memory, expected):
    assert resolve_gpu(name, memory) == expected


def test_canonical_gpu_keeps_unknown_names():
    assert canonical_gpu("K80") == "K80"
    assert canonical_gpu("  Tesla K80 ") == "Tesla K80"
    assert canonical_gpu("nvidia-l4") == "L4"
    assert canonical_gpu("A100", 80) == "A100-80GB"
    assert canonical_gpu("A100") == "A100"  # ambiguous stays as given, to be flagged
    assert not is_known_gpu(canonical_gpu("K80"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("A100", ("A100-40GB", "A100-80GB")),
        ("v100", ("V100-16GB", "V100-32GB")),
        ("nvidia-tesla-a100", ("A100-40GB",)),
        ("H100", ("H100",)),
        ("h100 pcie", ("H100-PCIe",)),
        ("K80", ()),
        ("", ()),
    ],
)
def test_resolve_gpu_filter_expands_families_only(name, expected):
    assert resolve_gpu_filter(name) == expected


def test_every_canonical_name_resolves_to_itself():
    for name in gpu_specs():
        assert resolve_gpu(name) == name
        assert is_known_gpu(name)


def test_is_known_gpu_is_exact():
    assert is_known_gpu("H100")
    assert not is_known_gpu("h100")  # is_known_gpu checks canonical names only
    assert not is_known_gpu("A100")


def test_peak_tflops_and_fallbacks():
    specs = gpu_specs()
    assert specs["V100-16GB"].peak_tflops("bf16") == (125, "fp16")
    assert specs["V100-16GB"].peak_tflops("tf32") == (15.7, "fp32")
    assert specs["T4"].peak_tflops("fp8") == (65, "fp16")
    assert specs["A100-80GB"].peak_tflops("fp8") == (312, "bf16")
    assert specs["H100"].peak_tflops("bf16") == (989, "bf16")
    assert specs["H100"].peak_tflops("fp8") == (1979, "fp8")
    assert specs["H100"].peak_tflops("fp32") == (67, "fp32")
    with pytest.raises(ValueError, match="precision"):
        specs["H100"].peak_tflops("int8")


def _alias_rows() -> list[dict[str, str]]:
    path = resources.files("gpucost.catalog").joinpath("data", "gpu_aliases.csv")
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


ALIASES = _alias_rows()


@pytest.mark.parametrize("row", ALIASES, ids=[f"{r['alias']}@{r['memory_gib'] or '-'}"
                                              for r in ALIASES])
def test_every_alias_row_resolves_to_its_gpu(row):
    assert row["gpu"] in gpu_specs()
    memory = float(row["memory_gib"]) if row["memory_gib"] else None
    assert resolve_gpu(row["alias"], memory) == row["gpu"]


def test_normalize_gpu_name():
    assert normalize_gpu_name("  NVIDIA  Tesla_T4 ") == "nvidia-tesla-t4"
    assert normalize_gpu_name("A100-SXM4-80GB") == "a100-sxm4-80gb"
    assert normalize_gpu_name("a\t_ b") == "a-b"


# --- normalisation invariance (hypothesis) -------------------------------------------------

KNOWN = sorted({(r["alias"], float(r["memory_gib"]) if r["memory_gib"] else None)
                for r in ALIASES} | {(name, None) for name in gpu_specs()})
# Separators that normalise to one hyphen: a hyphen, or any run of whitespace/underscores.
SEPARATORS = st.sampled_from(["-", " ", "_", "  ", "__", " _ ", "\t", "_ _"])
PADDING = st.sampled_from(["", " ", "  ", "\t", " \n"])


@st.composite
def spelled(draw):
    alias, memory = draw(st.sampled_from(KNOWN))
    parts = alias.replace(" ", "-").replace("_", "-").split("-")
    text = parts[0]
    for part in parts[1:]:
        text += draw(SEPARATORS) + part
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    text = "".join(c.upper() if flip else c.lower() for c, flip in zip(text, flips, strict=True))
    return alias, memory, draw(PADDING) + text + draw(PADDING)


@given(spelled())
def test_resolution_ignores_case_spaces_and_underscores(case):
    alias, memory, variant = case
    expected = resolve_gpu(alias, memory)
    assert expected is not None
    assert resolve_gpu(variant, memory) == expected
    assert canonical_gpu(variant, memory) == expected


@given(st.sampled_from([alias for alias, memory in KNOWN if memory is None]),
       st.floats(min_value=0.01, max_value=10_000))
def test_memory_never_changes_an_unambiguous_name(alias, memory):
    assert resolve_gpu(alias, memory) == resolve_gpu(alias) is not None


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789- _", max_size=20))
def test_resolution_returns_known_gpu_or_none(name):
    result = resolve_gpu(name)
    assert result is None or result in gpu_specs()
    assert canonical_gpu(name) == (result or name.strip())


@pytest.mark.parametrize("memory", [0, 0.0, -16])
def test_nonpositive_memory_is_unknown_not_a_crash(memory):
    assert resolve_gpu("A100", memory) is None
