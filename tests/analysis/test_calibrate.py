"""``gpucost calibrate``: measurements in, a profile the model uses out."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pytest
from analysis_support import EXAMPLES

import gpucost
from gpucost.calibrate.logs import parse_log_text, read_log
from gpucost.calibrate.store import read_profile
from gpucost.catalog.snapshot import load_catalog
from gpucost.performance import estimate as model_estimate
from gpucost.performance.user_calibration import use_profile

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def shipped():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_catalog()


def _offer(catalog, instance_type):
    rows = catalog.offers[(catalog.offers["instance_type"] == instance_type)
                          & (catalog.offers["pricing"] == "on_demand")]
    return rows.sort_values(["provider", "region"]).iloc[0].to_dict()


# --- round trip ------------------------------------------------------------------------

SLOWDOWN = 1.25  # the team's H100s run 25% slower than the model says
SHAPES = [(8.03e9, 32, 4096, 8192, 4 * 2**20), (1.3e9, 24, 2048, 4096, 2**20),
          (7e9, 32, 4096, 4096, 4 * 2**20), (13e9, 40, 5120, 4096, 4 * 2**20)]


def _round_trip_measurements(catalog, tmp_path: Path) -> Path:
    """Measurements generated from the model's own predictions: H100 at 1/1.25 of them,
    with +-2% scatter; A100-80GB exactly as predicted."""
    from gpucost.job.parse import parse_job

    lines = []
    scatter = [1.02, 0.98, 1.0, 1.01, 0.99, 1.0]
    k = 0
    for gpu, itype in (("H100", "p5.48xlarge"), ("A100-80GB", "p4de.24xlarge")):
        offer = _offer(catalog, itype)
        for params, layers, hidden, seq, batch in SHAPES[:3]:
            for nodes in (4, 8):
                run = parse_job({"name": "m", "deadline": "30d", "batch_tokens": batch,
                                 "model": {"parameters": params, "tokens": 1e12,
                                           "layers": layers, "hidden_size": hidden,
                                           "sequence_length": seq}}, "gen").runs[0]
                predicted = model_estimate(run, offer, nodes).tokens_per_s
                slow = SLOWDOWN if gpu == "H100" else 1.0
                measured = predicted / slow * (scatter[k % len(scatter)] if gpu == "H100"
                                               else 1.0)
                k += 1
                lines.append(json.dumps({
                    "name": f"{gpu}-{params:g}-{nodes}", "instance_type": itype,
                    "instances": nodes, "parameters": params, "layers": layers,
                    "hidden_size": hidden, "sequence_length": seq, "batch_tokens": batch,
                    "stack": "pytorch", "precision": "bf16", "tokens_per_s": measured}))
    path = tmp_path / "measured.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_round_trip_recovers_a_known_slowdown(run_cli, shipped, tmp_path):
    measured = _round_trip_measurements(shipped, tmp_path)
    profile_path = tmp_path / "team.json"
    res = run_cli("calibrate", measured, "--out", profile_path, "--no-store")
    assert res.code == 0, res.err
    assert "before" in res.out and "after" in res.out
    profile = read_profile(profile_path)

    job = gpucost.load_job(EXAMPLES / "llama-7b.yaml")  # a shape not among the measurements
    before_h100 = gpucost.estimate(job, shipped, "p5.48xlarge", 16)
    before_a100 = gpucost.estimate(job, shipped, "p4de.24xlarge", 32)
    with use_profile(profile):
        after_h100 = gpucost.estimate(job, shipped, "p5.48xlarge", 16)
        after_a100 = gpucost.estimate(job, shipped, "p4de.24xlarge", 32)
    (b,), (a,) = before_h100.runs, after_h100.runs
    slowed = b.tokens_per_s / SLOWDOWN
    assert a.tokens_per_s == pytest.approx(slowed, rel=0.02)
    # Wall time: the training part stretches by the same factor (start-up does not).
    startup = job.assumptions.startup_hours
    assert (a.hours - startup) == pytest.approx((b.hours - startup) * SLOWDOWN, rel=0.02)
    assert after_h100.calibration.startswith("calibrated on 6 of your measurements (H100, "
                                             "pytorch)")
    # Another GPU class: unchanged.
    assert after_a100.runs[0].tokens_per_s == pytest.approx(before_a100.runs[0].tokens_per_s,
                                                            rel=0.02)
    # The range is narrower than the published model's.
    width_before = b.hours_p90 / b.hours_p10
    width_after = a.hours_p90 / a.hours_p10
    assert width_after < width_before
    assert after_h100.basis == "your measurements"


def test_plan_and_frontier_say_they_are_calibrated(run_cli, shipped, tmp_path):
    measured = _round_trip_measurements(shipped, tmp_path)
    profile_path = tmp_path / "team.json"
    assert run_cli("calibrate", measured, "--out", profile_path, "--no-store").code == 0
    job = EXAMPLES / "llama-7b.yaml"
    plain = json.loads(run_cli("plan", job, "-o", "json", "--calibration", "none").out)
    res = run_cli("plan", job, "--calibration", profile_path)
    assert "Throughput calibrated on 12 of your measurements (A100-80GB, H100, pytorch)" \
        in res.out
    calibrated = json.loads(run_cli("plan", job, "-o", "json", "--calibration",
                                    profile_path).out)
    h100 = {a["gpu"]: a for a in plain["alternatives"]}["H100"]
    h100_after = {a["gpu"]: a for a in calibrated["alternatives"]}["H100"]
    assert h100_after["cost_usd"] > h100["cost_usd"] * 1.1  # slower H100s cost more
    front = run_cli("frontier", job, "--points", "2", "--calibration", profile_path)
    assert "calibrated on 12 of your measurements" in front.out
    front_json = json.loads(run_cli("frontier", job, "--points", "2", "-o", "json",
                                    "--calibration", profile_path).out)
    assert front_json["calibration"].startswith("calibrated on 12 of your measurements")


def test_calibrate_stores_the_profile_in_the_config_folder(run_cli, shipped, tmp_path,
                                                           monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    measured = _round_trip_measurements(shipped, tmp_path)
    res = run_cli("calibrate", measured)
    assert res.code == 0, res.err
    stored = tmp_path / "cfg" / "gpucost" / "calibration.json"
    assert stored.is_file()
    # ... and plan / estimate pick it up without a flag, and say so.
    est = run_cli("estimate", EXAMPLES / "llama-7b.yaml", "--instance-type", "p5.48xlarge",
                  "--instances", "16")
    assert "calibrated on 6 of your measurements (H100, pytorch)" in est.out
    off = run_cli("estimate", EXAMPLES / "llama-7b.yaml", "--instance-type", "p5.48xlarge",
                  "--instances", "16", "--calibration", "none")
    assert "calibrated on" not in off.out


# --- trainer logs and exports ------------------------------------------------------------

def test_torchtitan_log_is_read_per_gpu_after_warmup():
    t = read_log(DATA / "torchtitan.log")
    assert t.trainer == "torchtitan"
    assert t.tokens_per_s_per_gpu == 5802.0  # median of steps 30-60; validation excluded
    assert t.mfu == pytest.approx(0.34165)


def test_hf_trainer_log_gives_samples_per_second():
    t = read_log(DATA / "hf_trainer.log")
    assert (t.trainer, t.samples_per_s) == ("hf-trainer", 4.1)


def test_megatron_log_gives_step_time_and_batch():
    t = read_log(DATA / "megatron.log")
    assert t.trainer == "megatron" and t.global_batch == 512
    assert t.step_time_s == pytest.approx(10.2003)
    assert t.tflops_per_gpu == pytest.approx(392.45, abs=0.1)


def test_log_without_throughput_lines_is_refused():
    from gpucost.errors import InputError

    with pytest.raises(InputError, match="found none"):
        parse_log_text("hello\nworld\n", "x.log")


@pytest.mark.parametrize("log, args, tokens", [
    ("torchtitan.log", ["--gpu", "H100", "--gpus", "8", "--parameters", "8.03e9",
                        "--sequence-length", "8192", "--global-batch", "8"], 5802 * 8),
    ("hf_trainer.log", ["--gpu", "A100-80GB", "--gpus", "8", "--parameters", "6.74e9",
                        "--sequence-length", "4096", "--global-batch", "32"], 4.1 * 4096),
    ("megatron.log", ["--gpu", "H100", "--gpus", "64", "--parameters", "8.03e9",
                      "--sequence-length", "8192", "--stack", "megatron"],
     512 * 8192 / 10.2003),
])
def test_calibrate_from_trainer_logs(run_cli, log, args, tokens):
    res = run_cli("calibrate", DATA / log, *args, "--no-store", "-o", "json")
    assert res.code == 0, res.err
    (row,) = json.loads(res.out)["measurements"]
    assert row["measured_tokens_per_s"] == pytest.approx(tokens, rel=1e-6)


def test_wandb_and_mlflow_exports(run_cli):
    res = run_cli("calibrate", DATA / "wandb_export.csv", DATA / "mlflow_export.csv",
                  "--no-store", "-o", "json")
    assert res.code == 0, res.err
    out = json.loads(res.out)
    names = [r["name"] for r in out["measurements"]]
    assert "llama8b-h100-32" not in names  # the crashed W&B run is skipped
    assert names == ["a100-run-1", "a100-run-2", "llama8b-h100-64", "llama8b-h100-128",
                     "llama8b-h100-16"]
    gpus = {r["name"]: r["gpus"] for r in out["measurements"]}
    assert gpus["llama8b-h100-128"] == 128 and gpus["a100-run-2"] == 64
    h100 = [r for r in out["measurements"] if r["gpu"] == "H100"]
    assert h100[0]["measured_tokens_per_s"] == 5240 * 64  # tps is per GPU
    entries = {e["gpu"]: e for e in out["profile"]["entries"]}
    assert entries["H100"]["measurements"] == 3 and entries["A100-80GB"]["measurements"] == 2


# --- refusals: one line, exit 2 ------------------------------------------------------------

def _write(tmp_path, rows, name="m.yaml"):
    import yaml

    path = tmp_path / name
    path.write_text(yaml.safe_dump({"measurements": rows}))
    return path


BASE = {"parameters": 7e9, "sequence_length": 4096, "batch_tokens": 4194304,
        "gpu": "H100", "gpus": 64}


@pytest.mark.parametrize("rows, words", [
    ([{**BASE, "tokens_per_s_per_gpu": 40000}], "above the H100's bf16 dense peak"),
    ([{**BASE, "tokens_per_s_per_gpu": 3000}, {**BASE, "tokens_per_s_per_gpu": 3100},
      {**BASE, "tokens_per_s_per_gpu": 700}], "more than 2x apart"),
    ([{**BASE, "gpu": "H900", "tokens_per_s": 1e5}], "a GPU of the spec table"),
    ([{**BASE, "tokens_per_s": "fast"}], "a number"),
    ([{**BASE}], "a throughput"),
    ([{**BASE, "gpus": 12, "gpus_per_instance": 8, "tokens_per_s": 1e5}], "whole number"),
])
def test_bad_measurements_are_one_line_exit_2(run_cli, tmp_path, rows, words):
    res = run_cli("calibrate", _write(tmp_path, rows), "--no-store")
    assert res.code == 2, res.out
    assert len(res.err_lines) == 1 and words in res.err_lines[0], res.err
    assert "Traceback" not in res.err


@pytest.mark.parametrize("text, words", [
    ("{", "JSON"),
    ('{"profile_version": 1, "entries": [{"gpu": "H100", "stack": "pytorch", '
     '"precision": "bf16", "factor": -1, "log_spread": 0.1, "measurements": 2, '
     '"error_before": 0.1, "error_after": 0.1}]}', "entries[0].factor"),
    ('{"profile_version": 7}', "profile_version"),
])
def test_bad_profile_file_is_one_line_exit_2(run_cli, tmp_path, text, words):
    path = tmp_path / "bad.json"
    path.write_text(text)
    res = run_cli("plan", EXAMPLES / "llama-7b.yaml", "--calibration", path)
    assert res.code == 2
    assert len(res.err_lines) == 1 and words in res.err_lines[0], res.err


def test_spread_is_finite_and_narrows_with_agreeing_measurements(shipped):
    from gpucost.calibrate.fit import Measured, fit_profile

    job = gpucost.load_job(EXAMPLES / "llama-7b.yaml")
    offer = _offer(shipped, "p5.48xlarge")
    one = Measured("a", "a", job.runs[0], offer, 4, 0.8e5, 1e5, 0.2)
    few, _ = fit_profile([one])
    many, _ = fit_profile([Measured(str(i), str(i), job.runs[0], offer, 4, 0.8e5, 1e5, 0.2)
                           for i in range(8)])
    assert math.isfinite(few.entries[0].log_spread)
    assert many.entries[0].log_spread < few.entries[0].log_spread <= 0.2 + 1e-9
    assert many.entries[0].factor == pytest.approx(0.8)


@pytest.mark.parametrize("name, content, words", [
    ("empty.csv", "", "CSV header"),
    ("header-only.csv", "gpu,gpus,tokens_per_s\n", "at least one measured run"),
    ("runs.xlsx", "PK\x03\x04", "measurements as .csv"),
    ("bomb.yaml", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, "
     "*a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, "
     "*c, *c, *c, *c]\nmeasurements: [*d]\n", "aliases"),
    ("rows.jsonl", '{"gpu": "H100"}\nnot json\n', "line 2"),
    ("list.yaml", "measurements: [1, 2]\n", "a mapping"),
])
def test_hostile_measurement_files_are_one_line_exit_2(run_cli, tmp_path, name, content,
                                                        words):
    path = tmp_path / name
    path.write_text(content)
    res = run_cli("calibrate", path, "--no-store")
    assert res.code == 2, res.out
    assert len(res.err_lines) == 1 and words in res.err_lines[0], res.err
    assert "Traceback" not in res.err


def test_measurement_naming_a_job_file(run_cli, tmp_path):
    import shutil

    shutil.copy(EXAMPLES / "llama-7b.yaml", tmp_path / "job.yaml")
    path = _write(tmp_path, [{"job": "job.yaml", "instance_type": "p5.48xlarge",
                              "instances": 4, "tokens_per_s_per_gpu": 3000}])
    res = run_cli("calibrate", path, "--no-store", "-o", "json")
    assert res.code == 0, res.err
    (row,) = json.loads(res.out)["measurements"]
    assert row["gpus"] == 32 and row["measured_tokens_per_s"] == 3000 * 32
    assert row["stack"] == "pytorch" and row["gpu"] == "H100"
