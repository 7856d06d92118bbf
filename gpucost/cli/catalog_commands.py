"""``gpucost gpus`` and ``gpucost prices``: look at the spec table and the offers."""

from __future__ import annotations

import click
import pandas as pd

from gpucost.catalog.age import offers_age, utc_today, warn_if_stale
from gpucost.catalog.gpus import PRECISIONS, gpu_specs
from gpucost.catalog.interruptions import attach as with_interruptions
from gpucost.catalog.query import (
    SORT_KEYS,
    OfferFilter,
    filter_offers,
    resolve_names,
    sort_by,
    with_cost_columns,
)
from gpucost.catalog.snapshot import load_catalog
from gpucost.cli.options import FiniteFloatRange, output_option, snapshot_option
from gpucost.formatting import sig
from gpucost.report.tables import render_frame


def gpu_spec_frame() -> pd.DataFrame:
    """The spec table as a DataFrame (one row per GPU variant)."""
    rows = []
    for spec in gpu_specs().values():
        row = {"gpu": spec.name, "vendor": spec.vendor, "architecture": spec.architecture,
               "memory_gib": spec.memory_gib,
               "memory_bandwidth_tbps": spec.memory_bandwidth_tbps}
        row.update({f"{p}_tflops": spec.tflops[p] for p in PRECISIONS})
        row["datasheet"] = spec.datasheet
        rows.append(row)
    return pd.DataFrame(rows)


@click.command("gpus")
@output_option
def gpus_command(output: str) -> None:
    """The GPU spec table: memory, bandwidth and dense peak TFLOPS per format."""
    frame = gpu_spec_frame()
    columns = [c for c in frame.columns if c != "datasheet"]
    click.echo(render_frame(frame, output, columns if output in ("table", "markdown") else None))
    if output == "table":
        click.echo("\nDense figures (no sparsity); `-o csv` or `-o json` names each datasheet.")


PRICE_TABLE_COLUMNS = ["provider", "region", "instance_type", "gpu", "gpu_count",
                       "gpu_memory_gib", "pricing", "usd_per_hour", "usd_per_gpu_hour",
                       "usd_per_pflop_hour", "as_of"]
# How the instance is wired, shown with --network (csv/json always carry every column).
NETWORK_COLUMNS = ["gpu_link", "network_gbps", "rdma"]


@click.command("prices")
@click.option("--gpu", "gpus", multiple=True, help="GPU name or alias (repeatable).")
@click.option("--provider", "providers", multiple=True, help="Provider (repeatable).")
@click.option("--region", "regions", multiple=True, help="Region (repeatable).")
@click.option("--spot/--on-demand", "spot", default=None,
              help="Only spot, or only on-demand offers (default: both).")
@click.option("--min-gpu-memory", type=FiniteFloatRange(min=0, max=4096),
              help="Minimum memory per GPU, GiB.")
@click.option("--min-gpus", type=click.IntRange(min=1, max=1024),
              help="Minimum GPUs per instance.")
@click.option("--max-price", type=FiniteFloatRange(min=0, min_open=True, max=1e6),
              help="Maximum USD per instance-hour.")
@click.option("--sort", "sort_key", type=click.Choice(SORT_KEYS), default="usd_per_hour",
              show_default=True)
@click.option("--precision", type=click.Choice(PRECISIONS), default="bf16", show_default=True,
              help="Format for the peak PFLOPS in usd_per_pflop_hour.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Show at most this many rows.")
@click.option("--network", "show_network", is_flag=True,
              help="Also show the GPU link, network Gbps and RDMA of each instance.")
@output_option
@snapshot_option
def prices_command(gpus: tuple[str, ...], providers: tuple[str, ...], regions: tuple[str, ...],
                   spot: bool | None, min_gpu_memory: float | None, min_gpus: int | None,
                   max_price: float | None, sort_key: str, precision: str, limit: int | None,
                   show_network: bool, output: str, snapshot: str | None) -> None:
    """GPU offers, filtered and sorted; usd_per_pflop_hour prices the compute, not the box."""
    catalog = load_catalog(snapshot, providers=providers)
    if providers:  # named against every provider with a snapshot, read or not
        providers = tuple(resolve_names(
            providers, [*catalog.available_providers, *catalog.offers["provider"].unique()],
            "--provider", "provider", "a provider with a snapshot"))
    spec = OfferFilter(gpus=gpus, providers=providers, regions=regions,
                       pricing=None if spot is None else ("spot" if spot else "on_demand"),
                       min_gpu_memory_gib=min_gpu_memory, min_gpus=min_gpus,
                       max_usd_per_hour=max_price)
    offers = sort_by(with_cost_columns(filter_offers(catalog.offers, spec), precision), sort_key)
    if limit:
        offers = offers.head(limit)
    if spot:  # each pool's interruption band, and the reclaim rate plans use for it
        offers = with_interruptions(offers, catalog.interruptions)
    warn_if_stale(offers_age(offers, utc_today()), "the oldest price listed is", "listed")
    if output in ("table", "markdown"):
        formatters = {"usd_per_hour": lambda v: f"{v:g}", "usd_per_gpu_hour": sig,
                      "usd_per_pflop_hour": sig,
                      "network_gbps": lambda v: "?" if v != v else f"{v:g}",
                      "gpu_link": lambda v: v or "-",
                      "reclaims_per_hour": lambda v: sig(v, 2)}
        columns = (PRICE_TABLE_COLUMNS + (NETWORK_COLUMNS if show_network else [])
                   + (["interruption_band", "reclaims_per_hour"] if spot else []))
        click.echo(render_frame(offers, output, columns, formatters))
        if output == "table":
            click.echo(f"\n{len(offers)} offers; usd_per_pflop_hour at {precision} dense peak.")
            if spot:
                click.echo(INTERRUPTION_NOTE)
    else:
        click.echo(render_frame(offers, output))
    if spot and not (catalog.offers["pricing"] == "spot").any():
        files = ", ".join(str(f.path) for f in catalog.files) or "no snapshot file"
        click.echo(f"gpucost: note: the snapshot has no spot prices ({files}); the shipped "
                   "one carries none without a dated source: run `gpucost refresh` (AWS spot "
                   "price history, GCP billing catalog) to get them", err=True)


INTERRUPTION_NOTE = (
    "interruption_band: the share of the pool's instances interrupted per month (AWS Spot "
    "Instance Advisor data beside the prices; GCP and pools without data: stated "
    "defaults); reclaims_per_hour = -ln(1 - share) / 730.5 at the band's midpoint "
    "(\">20%\" read as 30%), the rate plans use (see gpucost/catalog/interruptions.py).")

COMMANDS = [gpus_command, prices_command]
