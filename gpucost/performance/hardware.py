"""What the performance model needs to know of an offer's hardware, as arrays.

One row per *hardware class*: offers that share GPU, GPUs per instance, GPU link,
network bandwidth and RDMA run a job at the same speed, whatever their price or region,
so the model evaluates each class once (a 10k-offer catalog has a few dozen classes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gpucost.catalog.ecosystem import training_precision
from gpucost.catalog.gpus import gpu_specs

HARDWARE_COLUMNS = ["gpu", "gpu_count", "gpu_memory_gib", "gpu_link", "network_gbps", "rdma"]

# Achievable share of a link's nominal one-way bandwidth for collective traffic.
# NVSwitch: NCCL all-reduce bus bandwidth on HGX H100 reaches ~360 of 450 GB/s one-way
# (NVIDIA nccl-tests results as published with DGX H100 reference numbers) -> 0.8.
# Point-to-point NVLink without a switch (V100 hybrid cube mesh) rings over fewer links.
# PCIe: GPUs share host bridges and, without P2P, bounce through host memory.
LINK_EFFICIENCY = {"nvswitch": 0.8, "nvlink": 0.5, "pcie": 0.5}
# Share of the instance's network line rate that NCCL achieves: with RDMA (EFA, GPUDirect,
# InfiniBand) near line rate; over kernel TCP sockets well below (CPU copies, few streams).
NETWORK_EFFICIENCY = {True: 0.8, False: 0.4}
# An offer whose network bandwidth is unknown is costed as plain 10 Gbps TCP, and one with
# several GPUs but no known link as PCIe: conservative, and stated in the plan.
DEFAULT_NETWORK_GBPS = 10.0
DEFAULT_GPU_LINK = "pcie"


@dataclass(frozen=True)
class HardwareClasses:
    """Arrays over hardware classes (index = class id), all in SI units."""

    keys: pd.DataFrame           # the HARDWARE_COLUMNS of each class
    gpus_per_instance: np.ndarray
    peak_flops: np.ndarray       # dense peak at the precision used, FLOP/s per GPU
    peak_bf16_flops: np.ndarray  # dense peak at bf16/fp16 (attention runs there), FLOP/s
    fp8: np.ndarray              # bool: linear layers run in fp8
    memory_bandwidth: np.ndarray  # bytes/s per GPU
    gpu_memory: np.ndarray       # bytes per GPU
    link_bandwidth: np.ndarray   # effective one-way bytes/s per GPU inside the instance
    network_bandwidth: np.ndarray  # effective bytes/s of the instance to others
    flash_attention: np.ndarray  # bool: FlashAttention kernels run (Ampere and later)
    precision_used: list[str]
    defaults: list[tuple[str, ...]]  # per class: which conservative defaults it took


def hardware_classes(offers: pd.DataFrame, precision: str,
                     stack: str | None = None) -> tuple[HardwareClasses, np.ndarray]:
    """The distinct hardware classes of ``offers`` and each offer's class id.

    With ``stack``, each GPU runs at the precision that stack trains it in
    (:func:`gpucost.catalog.ecosystem.training_precision`: a legacy stack runs an H100 in
    bf16 even for an fp8 job), else at ``precision`` or the GPU's fallback.
    """
    keys = offers[HARDWARE_COLUMNS].copy()
    keys["network_gbps"] = keys["network_gbps"].fillna(-1.0)
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(keys))
    table = uniques.to_frame(index=False)
    table.columns = HARDWARE_COLUMNS
    table["network_gbps"] = table["network_gbps"].where(table["network_gbps"] > 0)
    count = len(table)
    peak = np.zeros(count)
    peak16 = np.zeros(count)
    fp8 = np.zeros(count, dtype=bool)
    bw = np.zeros(count)
    link = np.zeros(count)
    net = np.zeros(count)
    flash = np.zeros(count, dtype=bool)
    used: list[str] = []
    defaults: list[tuple[str, ...]] = []
    for i, row in enumerate(table.itertuples(index=False)):
        spec = gpu_specs()[row.gpu]
        trained = training_precision(stack, row.gpu, precision) if stack else None
        tflops, precision_used = (spec.peak_tflops(trained) if trained
                                  else spec.peak_tflops(precision))
        bf16, _ = spec.peak_tflops("bf16")
        peak[i], peak16[i] = tflops * 1e12, bf16 * 1e12
        fp8[i] = precision_used == "fp8"
        flash[i] = spec.flash_attention
        used.append(precision_used)
        bw[i] = spec.memory_bandwidth_tbps * 1e12
        took: list[str] = []
        kind = row.gpu_link or ""
        if int(row.gpu_count) > 1 and not kind:
            kind = DEFAULT_GPU_LINK
            took.append("gpu_link unknown: assumed PCIe")
        if kind == "pcie" or not kind:
            one_way = spec.pcie_gb_s / 2
        else:
            one_way = (spec.nvlink_gb_s or spec.pcie_gb_s) / 2
        link[i] = one_way * 1e9 * LINK_EFFICIENCY.get(kind, LINK_EFFICIENCY["pcie"])
        gbps = row.network_gbps
        if gbps is None or (isinstance(gbps, float) and math.isnan(gbps)):
            gbps = DEFAULT_NETWORK_GBPS
            took.append(f"network bandwidth unknown: assumed {DEFAULT_NETWORK_GBPS:g} Gbps TCP")
        net[i] = float(gbps) / 8 * 1e9 * NETWORK_EFFICIENCY[bool(row.rdma)]
        defaults.append(tuple(took))
    classes = HardwareClasses(
        keys=table, gpus_per_instance=table["gpu_count"].to_numpy(dtype=float),
        peak_flops=peak, peak_bf16_flops=peak16, fp8=fp8, memory_bandwidth=bw,
        gpu_memory=table["gpu_memory_gib"].to_numpy(dtype=float) * 2**30,
        link_bandwidth=link, network_bandwidth=net, flash_attention=flash,
        precision_used=used, defaults=defaults)
    return classes, codes


def subset(classes: HardwareClasses, rows: np.ndarray) -> HardwareClasses:
    """The classes at positions ``rows`` (in that order)."""
    return HardwareClasses(
        keys=classes.keys.iloc[rows].reset_index(drop=True),
        gpus_per_instance=classes.gpus_per_instance[rows],
        peak_flops=classes.peak_flops[rows], peak_bf16_flops=classes.peak_bf16_flops[rows],
        fp8=classes.fp8[rows], memory_bandwidth=classes.memory_bandwidth[rows],
        gpu_memory=classes.gpu_memory[rows], link_bandwidth=classes.link_bandwidth[rows],
        network_bandwidth=classes.network_bandwidth[rows],
        flash_attention=classes.flash_attention[rows],
        precision_used=[classes.precision_used[i] for i in rows],
        defaults=[classes.defaults[i] for i in rows])
