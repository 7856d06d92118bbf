"""``gpucost prices`` and ``gpucost gpus`` end to end (in-process, no network)."""

from __future__ import annotations

import datetime as dt
import io
import json

import pandas as pd
import pytest

from gpucost.catalog.gpus import gpu_specs
from gpucost.catalog.query import COST_COLUMNS
from gpucost.catalog.schema import OFFER_COLUMNS
from gpucost.catalog.snapshot import shipped_snapshot_dir

ALL_COLUMNS = [*OFFER_COLUMNS, *COST_COLUMNS]


def _json(result) -> list[dict]:
    assert result.code == 0, result.err
    return json.loads(result.out)


def _assert_user_error(result, *needles: str) -> str:
    assert result.code == 2
    assert len(result.err_lines) == 1, result.err
    line = result.err_lines[0]
    assert line.startswith("gpucost: error: ")
    assert "Traceback" not in result.err
    for needle in needles:
        assert needle in line
    return line


def test_prices_json_has_every_column(run_cli, small_snapshot, small_rows):
    result = run_cli("prices", "--snapshot", small_snapshot, "--output", "json")
    records = _json(result)
    assert result.err == ""
    assert len(records) == len(small_rows)
    for record in records:
        assert list(record) == ALL_COLUMNS
    h100 = next(r for r in records
                if r["instance_type"] == "p5.48xlarge" and r["pricing"] == "on_demand")
    assert h100["as_of"] == dt.date.today().isoformat()
    assert h100["stale"] is False
    assert h100["gpu_count"] == 8
    assert h100["usd_per_pflop_hour"] == pytest.approx(98.32 / 7.912)
    assert h100["precision_used"] == "bf16"
    # Default sort: usd_per_hour ascending.
    prices = [r["usd_per_hour"] for r in records]
    assert prices == sorted(prices)


def test_prices_csv_has_every_column(run_cli, small_snapshot, small_rows):
    result = run_cli("prices", "--snapshot", small_snapshot, "-o", "csv")
    assert result.code == 0, result.err
    df = pd.read_csv(io.StringIO(result.out), keep_default_na=False)
    assert list(df.columns) == ALL_COLUMNS
    assert len(df) == len(small_rows)
    assert set(df["provider"]) == {"aws", "gcp"}
    assert set(df["zone"]) >= {"", "us-east-1b"}


def test_prices_markdown(run_cli, small_snapshot, small_rows):
    result = run_cli("prices", "--snapshot", small_snapshot, "--output", "markdown")
    assert result.code == 0, result.err
    lines = result.out.strip().splitlines()
    assert lines[0].startswith("| provider |")
    assert "usd_per_pflop_hour" in lines[0]
    assert set(lines[1].replace(" ", "")) <= set("|-")
    assert len(lines) == 2 + len(small_rows)
    assert all(line.startswith("|") and line.endswith("|") for line in lines)


def test_prices_table(run_cli, small_snapshot, small_rows):
    result = run_cli("prices", "--snapshot", small_snapshot)
    assert result.code == 0, result.err
    assert result.out.splitlines()[0].startswith("provider")
    assert f"{len(small_rows)} offers; usd_per_pflop_hour at bf16" in result.out


def test_prices_gpu_sorted_by_pflop_price(run_cli, small_snapshot, small_rows):
    records = _json(run_cli("prices", "--snapshot", small_snapshot, "--gpu", "H100",
                            "--sort", "usd_per_pflop_hour", "-o", "json"))
    assert {r["gpu"] for r in records} == {"H100"}
    assert len(records) == sum(1 for r in small_rows if r[4] == "H100")
    values = [r["usd_per_pflop_hour"] for r in records]
    assert values == sorted(values)
    assert records[0]["instance_type"] == "a3-highgpu-8g" and records[0]["pricing"] == "spot"


def test_prices_gpu_alias_and_family(run_cli, small_snapshot):
    alias = _json(run_cli("prices", "--snapshot", small_snapshot, "--gpu", "nvidia-l4",
                          "-o", "json"))
    assert {r["gpu"] for r in alias} == {"L4"} and len(alias) == 2
    family = _json(run_cli("prices", "--snapshot", small_snapshot, "--gpu", "A100",
                           "-o", "json"))
    assert {r["gpu"] for r in family} == {"A100-40GB", "A100-80GB"}


@pytest.mark.parametrize(("flag", "pricing", "count"),
                         [("--spot", "spot", 2), ("--on-demand", "on_demand", 8)])
def test_prices_spot_on_demand(run_cli, small_snapshot, flag, pricing, count):
    records = _json(run_cli("prices", "--snapshot", small_snapshot, flag, "-o", "json"))
    assert {r["pricing"] for r in records} == {pricing}
    assert len(records) == count


def test_prices_min_gpu_memory(run_cli, small_snapshot, small_rows):
    records = _json(run_cli("prices", "--snapshot", small_snapshot, "--min-gpu-memory", "80",
                            "-o", "json"))
    assert records and all(r["gpu_memory_gib"] >= 80 for r in records)
    assert len(records) == sum(1 for r in small_rows if r[6] >= 80)


def test_prices_max_price_min_gpus_provider_region_limit(run_cli, small_snapshot):
    cheap = _json(run_cli("prices", "--snapshot", small_snapshot, "--max-price", "11.5",
                          "-o", "json"))
    assert {r["instance_type"] for r in cheap} == {"g6.xlarge", "g2-standard-4",
                                                   "n1-standard-8+1xV100", "a3-highgpu-1g"}
    eight = _json(run_cli("prices", "--snapshot", small_snapshot, "--min-gpus", "8",
                          "--provider", "gcp", "--region", "us-central1", "-o", "json"))
    assert {(r["instance_type"], r["pricing"]) for r in eight} == {
        ("a3-highgpu-8g", "on_demand"), ("a3-highgpu-8g", "spot")}
    top = _json(run_cli("prices", "--snapshot", small_snapshot, "--limit", "2", "-o", "json"))
    assert [r["instance_type"] for r in top] == ["g2-standard-4", "g6.xlarge"]


def test_prices_precision_fallback(run_cli, small_snapshot):
    records = _json(run_cli("prices", "--snapshot", small_snapshot, "--gpu", "V100",
                            "--precision", "bf16", "-o", "json"))
    assert len(records) == 1
    assert records[0]["precision_used"] == "fp16"
    assert records[0]["usd_per_pflop_hour"] == pytest.approx(2.86 / 0.125)


def test_prices_no_match_is_empty_not_error(run_cli, small_snapshot):
    result = run_cli("prices", "--snapshot", small_snapshot, "--max-price", "0.01",
                     "-o", "json")
    assert _json(result) == []


def test_bad_gpu_is_one_line_error(run_cli, small_snapshot):
    result = run_cli("prices", "--snapshot", small_snapshot, "--gpu", "NOPE")
    _assert_user_error(result, "NOPE", "--gpu")
    assert result.out == ""


def test_bad_snapshot_file_is_one_line_error(run_cli, tmp_path, snapshot_writer):
    path = snapshot_writer(tmp_path / "aws" / "2025-08-01.csv",
                           [("aws", "us-east-1", "", "p5.48xlarge", "H100", 8, 80, "on_demand",
                             98.32),
                            ("aws", "us-east-1", "", "p4d.24xlarge", "A100-40GB", 8, 40,
                             "reserved", 20.0)], dt.date(2025, 8, 1))
    result = run_cli("prices", "--snapshot", path)
    _assert_user_error(result, str(path), "row 3", "pricing")
    # The folder form names the file too.
    result = run_cli("prices", "--snapshot", tmp_path)
    _assert_user_error(result, str(path), "row 3")


def test_garbage_snapshot_file_is_one_line_error(run_cli, tmp_path):
    path = tmp_path / "prices.csv"
    path.write_bytes(b"\xff\xfe\x00\x01garbage\xc3\x28\n")
    _assert_user_error(run_cli("prices", "--snapshot", path), str(path))


def test_ragged_snapshot_file_is_one_line_error(run_cli, tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("provider,region\naws,us-east-1\naws,us-east-1,extra\n")
    _assert_user_error(run_cli("prices", "--snapshot", path), str(path))


def test_missing_snapshot_is_one_line_error(run_cli, tmp_path):
    missing = tmp_path / "does-not-exist"
    _assert_user_error(run_cli("prices", "--snapshot", missing), str(missing))


def test_stale_snapshot_warns_on_stderr(run_cli, tmp_path, snapshot_writer):
    snapshot_writer(tmp_path / "aws" / "2020-01-01.csv",
                    [("aws", "us-east-1", "", "g6.xlarge", "L4", 1, 22.5, "on_demand", 0.8)],
                    dt.date(2020, 1, 1))
    result = run_cli("prices", "--snapshot", tmp_path, "-o", "json")
    assert len(_json(result)) == 1
    assert result.err_lines and all(line.startswith("gpucost: warning: ")
                                    for line in result.err_lines)
    assert "gpucost refresh" in result.err


def test_prices_against_shipped_snapshot(run_cli):
    shipped = shipped_snapshot_dir()
    everything = _json(run_cli("prices", "--snapshot", shipped, "-o", "json"))
    assert {r["provider"] for r in everything} == {"aws", "gcp", "azure", "lambda", "oci",
                                                   "nebius", "runpod", "vast"}
    assert all(r["source"] and r["as_of"] for r in everything)
    for gpu in ("MI300X", "GB200"):  # AMD and Grace-Blackwell offers answer offline
        assert {r["gpu"] for r in _json(run_cli("prices", "--snapshot", shipped, "--gpu",
                                                gpu, "-o", "json"))} == {gpu}
    assert all(list(r) == ALL_COLUMNS for r in everything)
    result = run_cli("prices", "--snapshot", shipped, "--gpu", "L4",
                     "--sort", "usd_per_pflop_hour", "-o", "json")
    records = _json(result)
    assert {r["gpu"] for r in records} == {"L4"}
    assert {r["provider"] for r in records} == {"aws", "gcp"}
    assert len(records) == sum(r["gpu"] == "L4" for r in everything)
    values = [r["usd_per_pflop_hour"] for r in records]
    assert values == sorted(values)
    assert all(r["source"].startswith(("curated list price", "curated spot price"))
               for r in records)
    # Old shipped prices may warn, but nothing else reaches stderr.
    assert all(line.startswith("gpucost: warning: ") for line in result.err_lines)


def test_gpus_json(run_cli):
    records = _json(run_cli("gpus", "--output", "json"))
    by_name = {r["gpu"]: r for r in records}
    assert list(by_name) == list(gpu_specs())
    h100 = by_name["H100"]
    assert h100["bf16_tflops"] == 989
    assert h100["fp8_tflops"] == 1979
    assert h100["memory_gib"] == 80
    assert "H100" in h100["datasheet"]
    assert all(r["datasheet"] for r in records)
    assert by_name["V100-16GB"]["bf16_tflops"] is None


def test_gpus_table_hides_datasheet(run_cli):
    result = run_cli("gpus")
    assert result.code == 0
    assert "H100-PCIe" in result.out
    assert "datasheet" not in result.out.splitlines()[0]
    assert "Dense figures" in result.out


def test_bad_option_value_is_usage_error(run_cli, small_snapshot):
    result = run_cli("prices", "--snapshot", small_snapshot, "--sort", "cheapest")
    assert result.code == 2
    assert "Traceback" not in result.err
    assert "cheapest" in result.err


def test_prices_network_columns_only_with_the_option(run_cli, small_snapshot):
    plain = run_cli("prices", "--snapshot", small_snapshot, "--gpu", "H100")
    assert plain.code == 0, plain.err
    assert "gpu_link" not in plain.out.splitlines()[0]
    wired = run_cli("prices", "--snapshot", small_snapshot, "--gpu", "H100", "--network")
    assert wired.code == 0, wired.err
    header = wired.out.splitlines()[0].split()
    assert header[-3:] == ["gpu_link", "network_gbps", "rdma"]
    # a3-highgpu-8g: 8 H100 over NVSwitch, 1,000 Gbps GPUDirect-TCPX (interconnect.csv)
    row = next(line.split() for line in wired.out.splitlines() if "a3-highgpu-8g" in line)
    assert row[-3:] == ["nvswitch", "1000", "True"]
    records = _json(run_cli("prices", "--snapshot", small_snapshot, "-o", "json"))
    assert {"gpu_link", "network_gbps", "rdma"} <= set(records[0])
