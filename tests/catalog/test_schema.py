"""The offer schema: dtypes, column order, and one precise error per kind of bad input."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from gpucost.catalog.schema import (
    OFFER_COLUMNS,
    UnknownGpuWarning,
    coerce_offers,
    empty_offers,
    sort_offers,
)
from gpucost.errors import InputError

OPTIONAL = ("zone", "stale", "network_gbps", "rdma", "gpu_link", "reliability")
REQUIRED = [c for c in OFFER_COLUMNS if c not in OPTIONAL]


def _assert_schema_dtypes(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(OFFER_COLUMNS)
    for column, kind in OFFER_COLUMNS.items():
        dtype = df[column].dtype
        if kind == "str":
            assert pd.api.types.is_string_dtype(dtype), (column, dtype)
        else:
            assert str(dtype) == kind, (column, dtype, kind)


def test_good_frame_coerces_to_schema_dtypes_and_order(make_raw, three_rows):
    raw = make_raw(three_rows)
    # Shuffle the columns and add an extra one: the result has exactly the schema's.
    raw = raw[list(reversed(raw.columns))].assign(extra="x")
    df = coerce_offers(raw, "good.csv")
    _assert_schema_dtypes(df)
    assert len(df) == 3
    first = df.iloc[0]
    assert first["gpu_count"] == 8
    assert first["gpu_memory_gib"] == 80.0
    assert first["usd_per_hour"] == pytest.approx(98.32)
    assert first["as_of"] == pd.Timestamp("2025-08-01")
    assert bool(first["stale"]) is False
    assert df["stale"].dtype == bool


def test_typed_input_is_accepted(make_raw, three_rows):
    raw = make_raw(three_rows)
    typed = raw.assign(gpu_count=raw["gpu_count"].astype(int),
                       usd_per_hour=raw["usd_per_hour"].astype(float),
                       as_of=pd.to_datetime(raw["as_of"]).dt.strftime("%Y-%m-%d"),
                       stale=[False, True, False])
    df = coerce_offers(typed, "typed")
    _assert_schema_dtypes(df)
    assert df["stale"].tolist() == [False, True, False]


def test_strings_are_stripped(make_raw, make_row):
    df = coerce_offers(make_raw([make_row(provider=" aws ", gpu=" H100", zone=" us-east-1a ")]),
                       "ws.csv")
    assert df.loc[0, "provider"] == "aws"
    assert df.loc[0, "gpu"] == "H100"
    assert df.loc[0, "zone"] == "us-east-1a"


def test_empty_offers_has_schema():
    df = empty_offers()
    assert len(df) == 0
    _assert_schema_dtypes(df)


@pytest.mark.parametrize("column", REQUIRED)
def test_missing_column_names_it(make_raw, three_rows, column):
    raw = make_raw(three_rows).drop(columns=[column])
    with pytest.raises(InputError) as info:
        coerce_offers(raw, "missing.csv")
    message = str(info.value)
    assert "missing.csv" in message
    assert column in message
    assert info.value.field == "header"


def test_missing_columns_are_all_named(make_raw, three_rows):
    raw = make_raw(three_rows).drop(columns=["gpu", "usd_per_hour"])
    with pytest.raises(InputError, match="gpu, usd_per_hour"):
        coerce_offers(raw, "missing.csv")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("usd_per_hour", "abc"),
        ("usd_per_hour", ""),
        ("usd_per_hour", "0"),
        ("usd_per_hour", "-1.5"),
        ("usd_per_hour", "nan"),
        ("gpu_count", "0"),
        ("gpu_count", "-2"),
        ("gpu_count", "1.5"),
        ("gpu_count", "eight"),
        ("gpu_memory_gib", "0"),
        ("vcpus", "-1"),
        ("memory_gib", "lots"),
        ("pricing", "reserved"),
        ("pricing", "On-Demand"),
        ("as_of", "2025-13-01"),
        ("as_of", "01/08/2025"),
        ("as_of", "2025-08-01 12:00"),
        ("as_of", ""),
        ("stale", "maybe"),
        ("provider", ""),
        ("region", "  "),
        ("gpu", ""),
        ("source", ""),
    ],
)
def test_bad_value_names_origin_row_and_column(make_raw, three_rows, column, value):
    rows = [dict(r) for r in three_rows]
    rows[1][column] = value  # second data row = CSV line 3
    with pytest.raises(InputError) as info:
        coerce_offers(make_raw(rows), "prices/aws.csv")
    message = str(info.value)
    assert message.startswith("prices/aws.csv, row 3: ")
    assert info.value.field == column
    assert "\n" not in message


def test_first_bad_row_is_reported(make_raw, three_rows):
    rows = [dict(r) for r in three_rows]
    rows[2]["usd_per_hour"] = "-1"
    rows[1]["usd_per_hour"] = "0"
    with pytest.raises(InputError, match=r"row 3: usd_per_hour"):
        coerce_offers(make_raw(rows), "f.csv")


def test_duplicate_offer_key_names_the_second_row(make_raw, three_rows):
    rows = [*three_rows, dict(three_rows[0], usd_per_hour="99")]  # CSV line 5
    with pytest.raises(InputError) as info:
        coerce_offers(make_raw(rows), "dup.csv")
    assert str(info.value).startswith("dup.csv, row 5: instance_type: ")
    assert "p5.48xlarge" in str(info.value)


def test_same_instance_in_other_region_or_pricing_is_not_a_duplicate(make_raw, make_row):
    rows = [make_row(), make_row(region="us-west-2"), make_row(pricing="spot"),
            make_row(provider="gcp")]
    assert len(coerce_offers(make_raw(rows), "ok.csv")) == 4


def test_unknown_gpu_warns_and_keeps_row(make_raw, three_rows):
    rows = [*three_rows, dict(three_rows[0], instance_type="p2.xlarge", gpu="K80")]
    with pytest.warns(UnknownGpuWarning, match="K80") as record:
        df = coerce_offers(make_raw(rows), "old.csv")
    assert any("old.csv" in str(w.message) for w in record)
    assert len(df) == 4
    assert df.loc[3, "gpu"] == "K80"


def test_known_gpus_do_not_warn(make_raw, three_rows):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownGpuWarning)
        coerce_offers(make_raw(three_rows), "ok.csv")


def test_optional_columns_default(make_raw, three_rows):
    raw = make_raw(three_rows).drop(columns=["stale", "zone"])
    df = coerce_offers(raw, "old-format.csv")
    _assert_schema_dtypes(df)
    assert df["stale"].tolist() == [False, False, False]
    assert df["zone"].tolist() == ["", "", ""]


@pytest.mark.parametrize(("text", "expected"),
                         [("True", True), ("true", True), ("1", True), ("False", False),
                          ("0", False), ("", False)])
def test_stale_values(make_raw, make_row, text, expected):
    df = coerce_offers(make_raw([make_row(stale=text)]), "s.csv")
    assert bool(df.loc[0, "stale"]) is expected


def test_sort_offers_is_by_offer_key(make_raw, make_row):
    rows = [make_row(provider="gcp"), make_row(region="us-west-2", pricing="spot"),
            make_row(region="us-west-2"), make_row(instance_type="g5.xlarge", gpu="A10G",
                                                   gpu_count="1", gpu_memory_gib="24")]
    df = sort_offers(coerce_offers(make_raw(rows), "s.csv"))
    keys = list(zip(df["provider"], df["region"], df["instance_type"], df["pricing"],
                    strict=True))
    assert keys == [("aws", "us-east-1", "g5.xlarge", "on_demand"),
                    ("aws", "us-west-2", "p5.48xlarge", "on_demand"),
                    ("aws", "us-west-2", "p5.48xlarge", "spot"),
                    ("gcp", "us-east-1", "p5.48xlarge", "on_demand")]


@pytest.mark.parametrize("column", ["usd_per_hour", "gpu_memory_gib"])
def test_infinite_number_is_rejected(make_raw, three_rows, column):
    rows = [dict(r) for r in three_rows]
    rows[1][column] = "inf"
    with pytest.raises(InputError, match=rf"row 3: {column}"):
        coerce_offers(make_raw(rows), "inf.csv")


def test_error_shows_value_as_written(make_raw, three_rows):
    rows = [dict(r) for r in three_rows]
    rows[1]["usd_per_hour"] = "0"
    with pytest.raises(InputError) as info:
        coerce_offers(make_raw(rows), "zero.csv")
    assert "np." not in str(info.value)
    assert str(info.value).endswith("got '0'")
