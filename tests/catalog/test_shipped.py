"""The data gpucost ships: the pricing snapshots and the GPU spec/alias tables."""

from __future__ import annotations

import csv
import datetime as dt
import warnings
from importlib import resources

import pandas as pd
import pytest

from gpucost.catalog.gpus import PRECISIONS, gpu_specs, normalize_gpu_name
from gpucost.catalog.schema import UnknownGpuWarning, sort_offers
from gpucost.catalog.snapshot import (
    find_snapshot_files,
    load_catalog,
    offers_to_csv_text,
    read_snapshot_file,
    shipped_snapshot_dir,
)

SHIPPED_FILES = find_snapshot_files(shipped_snapshot_dir())


def _ids(files):
    return [f"{f.provider}/{f.path.name}" for f in files]


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownGpuWarning)
        warnings.filterwarnings("ignore", message=".*days old.*")  # staleness is expected
        return load_catalog(shipped_snapshot_dir()).offers


def test_shipped_dir_is_the_repo_folder():
    folder = shipped_snapshot_dir()
    assert folder.is_dir()
    assert {f.provider for f in SHIPPED_FILES} >= {"aws", "gcp"}


def test_shipped_loads(shipped):
    assert len(shipped) > 50
    assert set(shipped["provider"]) >= {"aws", "gcp"}


def test_every_row_is_attributed(shipped):
    for column in ("provider", "region", "instance_type", "gpu", "pricing", "source"):
        assert (shipped[column].str.len() > 0).all(), column
    assert shipped["as_of"].notna().all()
    bad = shipped[~shipped["source"].str.startswith(("curated list price",
                                                     "curated spot price"))]
    assert bad.empty, bad[["provider", "region", "instance_type", "source"]]


def test_every_gpu_is_in_spec_table(shipped):
    assert set(shipped["gpu"]) <= set(gpu_specs())


def test_memory_matches_spec_table(shipped):
    # gpu_memory_gib is as reported; it must not be a different variant's size.
    for gpu, memory in zip(shipped["gpu"], shipped["gpu_memory_gib"], strict=True):
        spec = gpu_specs()[gpu].memory_gib
        assert abs(memory - spec) <= 0.15 * spec, (gpu, memory)


@pytest.mark.parametrize("provider", ["aws", "gcp"])
def test_at_least_four_regions(shipped, provider):
    assert shipped.loc[shipped["provider"] == provider, "region"].nunique() >= 4


def test_spot_rows_say_where(shipped):
    spot = shipped[shipped["pricing"] == "spot"]
    assert ((spot["zone"] != "") | (spot["source"] != "")).all()


@pytest.mark.parametrize("snap", SHIPPED_FILES, ids=_ids(SHIPPED_FILES))
def test_file_is_consistent_with_its_name(snap):
    offers = read_snapshot_file(snap.path)
    assert set(offers["provider"]) == {snap.provider}
    # Rows carry their own as_of: never later than the snapshot's date.
    assert offers["as_of"].max().date() <= snap.date
    assert snap.date <= dt.date.today()


@pytest.mark.parametrize("snap", SHIPPED_FILES, ids=_ids(SHIPPED_FILES))
def test_rows_in_canonical_order(snap):
    offers = read_snapshot_file(snap.path)
    pd.testing.assert_frame_equal(offers, sort_offers(offers))


@pytest.mark.parametrize("snap", SHIPPED_FILES, ids=_ids(SHIPPED_FILES))
def test_file_text_is_canonical(snap):
    text = snap.path.read_text(encoding="utf-8")
    assert text == offers_to_csv_text(read_snapshot_file(snap.path))


# --- the GPU spec table -----------------------------------------------------------------------

SPECS = list(gpu_specs().values())
# fp8 is exactly twice bf16 on these architectures' tensor cores.
FP8_DOUBLES = {"Hopper", "Ada", "Blackwell", "Blackwell Ultra", "CDNA3", "CDNA4"}
# NVIDIA's L40S datasheet itself lists dense BF16 362.05 and FP8 733 TFLOPS (1.2% apart);
# the table keeps the datasheet's figures, so that row gets a slightly looser tolerance.
FP8_TOLERANCE = {"L40S": 0.015}


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_spec_row_sanity(spec):
    assert spec.datasheet.strip()
    assert spec.vendor in {"NVIDIA", "AMD", "Intel"}
    assert spec.form_factor in {"SXM2", "SXM4", "SXM5", "SXM6", "SXM", "OAM", "Superchip", "PCIe"}
    assert spec.memory_gib > 0
    assert spec.memory_bandwidth_tbps > 0
    t = spec.tflops
    assert set(t) == set(PRECISIONS)
    # Gaudi 3 publishes no fp32 figure: its datasheet column says so, and the software
    # table (ecosystem.csv) lists no fp32/tf32 training on it, so nothing costs it there.
    assert (t["fp32"] and t["fp32"] > 0) or "no FP32" in spec.datasheet
    assert all(v is None or v > 0 for v in t.values())
    if t["tf32"] and t["fp32"]:
        assert t["tf32"] >= t["fp32"]
    if t["bf16"]:
        assert t["bf16"] >= (t["tf32"] or t["fp32"] or 0)
    if t["fp16"] and t["fp32"]:
        assert t["fp16"] >= t["fp32"]
    if t["bf16"] and t["fp16"]:
        assert t["bf16"] == t["fp16"]
    if t["fp8"]:
        assert t["fp8"] >= (t["bf16"] or 0)
    if spec.architecture in FP8_DOUBLES and t["fp8"] and t["bf16"]:
        tolerance = FP8_TOLERANCE.get(spec.name, 0.01)
        assert t["fp8"] == pytest.approx(2 * t["bf16"], rel=tolerance)


def test_hopper_and_newer_have_fp8():
    for spec in SPECS:
        if spec.architecture in FP8_DOUBLES:
            assert spec.tflops["fp8"], spec.name


def test_memory_variants_are_separate_rows():
    specs = gpu_specs()
    assert specs["A100-40GB"].memory_gib == 40
    assert specs["A100-80GB"].memory_gib == 80
    assert specs["A100-80GB"].memory_bandwidth_tbps > specs["A100-40GB"].memory_bandwidth_tbps
    assert specs["H100"].memory_gib == specs["H100-PCIe"].memory_gib == 80
    assert specs["H100"].tflops["bf16"] == 989
    assert specs["H100-PCIe"].tflops["bf16"] < specs["H100"].tflops["bf16"]
    assert specs["H100-PCIe"].memory_bandwidth_tbps < specs["H100"].memory_bandwidth_tbps
    assert specs["V100-16GB"].memory_gib == 16 and specs["V100-32GB"].memory_gib == 32
    assert not {"A100", "V100"} & set(specs)  # ambiguous names are aliases, never rows


def _data_rows(name: str) -> list[dict[str, str]]:
    with resources.files("gpucost.catalog").joinpath("data", name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_spec_names_are_unique():
    names = [row["gpu"] for row in _data_rows("gpu_specs.csv")]
    assert len(names) == len(set(names))
    assert len({normalize_gpu_name(n) for n in names}) == len(names)


def test_alias_rows_are_valid_and_unique():
    rows = _data_rows("gpu_aliases.csv")
    assert rows
    keys = [(normalize_gpu_name(r["alias"]), r["memory_gib"]) for r in rows]
    assert len(keys) == len(set(keys))
    for row in rows:
        assert row["gpu"] in gpu_specs(), row
        if row["memory_gib"]:
            # A memory-qualified alias points at the variant of that size.
            assert float(row["memory_gib"]) == gpu_specs()[row["gpu"]].memory_gib, row


def test_unqualified_alias_never_shadows_memory_variants():
    # resolve_gpu returns an unqualified match first, so a name listed both with and
    # without memory would make its memory-qualified rows dead entries.
    by_name: dict[str, list[dict[str, str]]] = {}
    for row in _data_rows("gpu_aliases.csv"):
        by_name.setdefault(normalize_gpu_name(row["alias"]), []).append(row)
    for spec in gpu_specs():
        by_name.setdefault(normalize_gpu_name(spec), []).append({"memory_gib": "", "gpu": spec})
    for name, rows in by_name.items():
        if any(not r["memory_gib"] for r in rows):
            assert len({r["gpu"] for r in rows}) == 1, name


# The GPUs GPU clouds rent (issue 18), each with a dense peak, memory, bandwidth, link,
# form factor and vendor from its datasheet.
RENTED = {"GB200": ("NVIDIA", "Superchip", 2500), "B300": ("NVIDIA", "SXM", 2250),
          "GB300": ("NVIDIA", "Superchip", 2500), "MI325X": ("AMD", "OAM", 1307.4),
          "MI355X": ("AMD", "OAM", 2516.6), "Gaudi3": ("Intel", "OAM", 1835),
          "L40": ("NVIDIA", "PCIe", 181), "RTX-A6000": ("NVIDIA", "PCIe", 154.8),
          "RTX-6000-Ada": ("NVIDIA", "PCIe", 364.2), "RTX-PRO-6000": ("NVIDIA", "PCIe", 500),
          "RTX-4090": ("NVIDIA", "PCIe", 165.2), "RTX-5090": ("NVIDIA", "PCIe", 209.5)}


@pytest.mark.parametrize("name", sorted(RENTED))
def test_rented_gpus_are_in_the_table_with_dense_bf16(name):
    vendor, form, bf16 = RENTED[name]
    spec = gpu_specs()[name]
    assert (spec.vendor, spec.form_factor, spec.tflops["bf16"]) == (vendor, form, bf16)
    assert spec.datasheet and spec.memory_gib >= 24


@pytest.mark.parametrize(("alias", "gpu"), [("GB200", "GB200"), ("nvidia-gb300", "GB300"),
                                             ("Gaudi 3", "Gaudi3"), ("RTX 4090", "RTX-4090"),
                                             ("rtx_6000_ada", "RTX-6000-Ada"),
                                             ("A6000", "RTX-A6000"), ("MI355X", "MI355X")])
def test_new_aliases_resolve(alias, gpu):
    from gpucost.catalog.gpus import resolve_gpu
    assert resolve_gpu(alias) == gpu
