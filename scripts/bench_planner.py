#!/usr/bin/env python3
"""Planner benchmark: synthetic catalogs of 1k, 10k and 50k offers.

Prints, per case, the seconds spent building candidates ("build") and solving
("solve"). Cases: single and divisible jobs (divisible with a shared max_gpus limit, so
that the MILP runs), and experiments with 10 and 100 runs. Also times the whole
``gpucost plan`` command on the shipped snapshot, and ``gpucost --help`` (median of 7
runs). Targets on a 2-core machine: single on 10k offers < 1 s; experiments with 100 runs
on 10k offers < 10 s; the CLI < 1.5 s; ``--help`` < 0.3 s.

    python scripts/bench_planner.py [--sizes 1000 10000 50000] [--skip-cli]
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gpucost.catalog.gpus import gpu_specs
from gpucost.catalog.schema import coerce_offers
from gpucost.catalog.snapshot import Catalog
from gpucost.job.parse import parse_job
from gpucost.planner.candidates import candidates_for_job
from gpucost.planner.planner import solve_mode

NOW = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parent.parent


def synthetic_catalog(size: int, seed: int = 0) -> Catalog:
    """``size`` offers over all spec-table GPUs, 1-8 GPUs each, 200 regions, both pricings,
    networks from 25 Gbps TCP to 3,200 Gbps RDMA."""
    rng = np.random.default_rng(seed)
    gpus = [g for g, spec in gpu_specs().items() if spec.tflops["fp32"]]  # priced by fp32
    gpu = rng.choice(gpus, size)
    count = rng.choice([1, 2, 4, 8], size)
    base = np.array([gpu_specs()[g].tflops["fp32"] for g in gpu]) * 0.12
    price = np.round(count * base * rng.uniform(0.6, 1.6, size), 4)
    network = rng.choice([25.0, 100.0, 400.0, 3200.0], size)
    frame = pd.DataFrame({
        "provider": rng.choice(["aws", "gcp", "azure"], size),
        "region": [f"region-{i}" for i in rng.integers(0, 200, size)],
        "zone": "", "instance_type": [f"type{i}.x" for i in range(size)],
        "gpu": gpu, "gpu_count": count,
        "gpu_memory_gib": [gpu_specs()[g].memory_gib for g in gpu],
        "vcpus": count * 12, "memory_gib": count * 96.0, "network_gbps": network,
        "rdma": network >= 400, "gpu_link": np.where(count == 1, "",
                                                     np.where(count == 8, "nvswitch", "pcie")),
        "pricing": rng.choice(["on_demand", "spot"], size), "usd_per_hour": price,
        "as_of": "2026-11-20", "source": "synthetic", "stale": False})
    return Catalog(offers=coerce_offers(frame, "synthetic"))


JOBS = {
    "single": {"name": "single", "model": {"parameters": 7e9, "tokens": 2e12},
               "deadline": "30d", "constraints": {"spot": "allowed"}},
    "divisible": {"name": "divisible", "mode": "divisible", "flops": 2e22,
                  "model": {"parameters": 1e9}, "deadline": "7d",
                  "constraints": {"spot": "allowed", "max_instances": 8, "max_gpus": 512}},
}


def experiments_job(runs: int, gpus_per_run: int) -> dict:
    """Runs of 1-7B models; ``max_gpus`` set so that it binds (the assignment MILP runs)."""
    rng = np.random.default_rng(runs)
    return {"name": f"experiments-{runs}", "mode": "experiments",
            "constraints": {"spot": "allowed", "max_gpus": gpus_per_run * runs},
            "experiments": [{"name": f"run{i}",
                             "model": {"parameters": float(p), "tokens": float(p) * 20},
                             "deadline": f"{int(d)}d"}
                            for i, (p, d) in enumerate(zip(rng.choice([1e9, 3e9, 7e9], runs),
                                                           rng.integers(2, 14, runs),
                                                           strict=True))]}


def bench(catalog: Catalog, spec: dict) -> tuple[float, float, str]:
    job = parse_job(spec, "bench", NOW)
    start = time.perf_counter()
    cands = candidates_for_job(catalog.offers, job.runs, job.constraints, job.assumptions,
                               catalog.quotas)
    built = time.perf_counter()
    result = solve_mode(job, cands)
    solved = time.perf_counter()
    return built - start, solved - built, f"{result.status} via {result.solver['name']}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()
    print(f"{'offers':>7}  {'case':<16} {'build s':>8} {'solve s':>8}  result")
    for size in args.sizes:
        catalog = synthetic_catalog(size)
        cases = [(name, spec) for name, spec in JOBS.items()]
        cases += [(f"experiments-{n}", experiments_job(n, g)) for n, g in ((10, 20), (100, 13))]
        for name, spec in cases:
            build, solve, status = bench(catalog, spec)
            print(f"{size:>7}  {name:<16} {build:>8.3f} {solve:>8.3f}  {status}", flush=True)
    if not args.skip_cli:
        cmd = [sys.executable, "-m", "gpucost", "plan", str(ROOT / "examples/llama-7b.yaml")]
        walls = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=False)
            walls.append(time.perf_counter() - start)
        print(f"gpucost plan examples/llama-7b.yaml (shipped snapshot): "
              f"best {min(walls):.2f} s, worst {max(walls):.2f} s wall over 3 runs")
        helps = []
        for _ in range(7):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "gpucost", "--help"], capture_output=True,
                           check=True)
            helps.append(time.perf_counter() - start)
        print(f"gpucost --help: median {sorted(helps)[3]:.2f} s wall over 7 runs "
              "(target < 0.3 s)")


if __name__ == "__main__":
    main()
