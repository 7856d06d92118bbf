"""The frontier as a picture: cost against deadline, every point with its status.

Drawn so that it does not exaggerate: the cost axis starts at zero (a 2% change looks
like 2%), in dollars; the deadline axis is logarithmic with a few round ticks (hours or
days); the curve runs through every deadline that has a plan, to the end of the range;
dominated, over-budget and infeasible deadlines are drawn too, each in its own marker,
with the budget and the job's deadline as lines.
"""

from __future__ import annotations

from pathlib import Path

from gpucost.errors import InputError
from gpucost.planner.frontier import FrontierPoint

FORMATS = ("png", "svg", "pdf")
# Candidate ticks on the deadline axis, in hours: round numbers people use.
_TICKS_HOURS = (1, 2, 3, 6, 12, 24, 48, 96, 168, 336, 720, 1440, 2160, 4320, 8760, 17520,
                43800, 87600)
_MAX_TICKS = 8


def plot_format(path: str) -> str:
    """The image format ``path``'s suffix asks for; anything else is refused (exit 2)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise InputError(path, "--plot", "a file name ending in "
                         + ", ".join(f".{f}" for f in FORMATS) + f", got {suffix!r}"
                         if suffix else "a file name ending in .png, .svg or .pdf")
    return suffix


def dollars(value: float) -> str:
    """Axis labels: $0, $500, $12k, $1.5M."""
    if value == 0:
        return "$0"
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"${value / size:.3g}{unit}"
    return f"${value:.3g}"


def duration(hours: float) -> str:
    if hours < 48:
        return f"{hours:g} h"
    return f"{hours / 24:g} d"


def deadline_ticks(low_hours: float, high_hours: float) -> list[float]:
    """Round ticks within the range, thinned to at most ``_MAX_TICKS`` (no overlap)."""
    inside = [t for t in _TICKS_HOURS if low_hours <= t <= high_hours]
    if len(inside) < 2:
        return [low_hours, high_hours]
    step = -(-len(inside) // _MAX_TICKS)
    return inside[::step]


def plot_frontier(points: list[FrontierPoint], job_deadline_hours: float, path: str,
                  title: str, budget_usd: float | None = None) -> None:
    """Write the frontier to ``path`` (PNG, SVG or PDF by its suffix)."""
    fmt = plot_format(path)
    if not any(p.feasible for p in points):
        raise InputError(path, "--plot", "at least one deadline with a plan to draw (none "
                         "has: no plot written)")
    import matplotlib.pyplot as plt

    fig = draw_frontier(points, job_deadline_hours, title, budget_usd)
    try:
        fig.savefig(path, format=fmt)
    except OSError as exc:
        raise InputError(path, "--plot", f"a writable path ({exc.strerror or exc})") from None
    finally:
        plt.close(fig)


def draw_frontier(points: list[FrontierPoint], job_deadline_hours: float, title: str,
                  budget_usd: float | None = None):
    """The figure (a matplotlib ``Figure``; the caller closes it). Needs a point with a
    plan."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    plan = [p for p in points if p.feasible]
    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=120)
    x = [p.deadline_hours for p in plan]
    y = [p.cost_usd for p in plan]
    ax.step(x, y, where="post", color="#1f77b4", zorder=2)
    styles = {
        "optimal": dict(marker="o", color="#1f77b4", label="plan (cheapest for its deadline)"),
        "dominated": dict(marker="o", facecolors="white", edgecolors="#1f77b4",
                          label="dominated (a shorter deadline costs no more)"),
        "over budget": dict(marker="x", color="#d62728", label="over budget (no plan)"),
    }
    for status, style in styles.items():
        chosen = [p for p in points if p.status == status and p.cost_usd is not None]
        if chosen:
            ax.scatter([p.deadline_hours for p in chosen], [p.cost_usd for p in chosen],
                       zorder=3, **style)
    infeasible = [p for p in points if p.cost_usd is None]
    if infeasible:  # no plan at all: marked on the axis
        ax.scatter([p.deadline_hours for p in infeasible], [0] * len(infeasible),
                   marker="^", color="#7f7f7f", zorder=3, clip_on=False,
                   label="infeasible (no plan meets it)")
    previous = None
    for p in plan:
        if p.gpus != previous:  # label where the cheapest GPU changes
            ax.annotate(p.gpus, (p.deadline_hours, p.cost_usd), textcoords="offset points",
                        xytext=(4, 6), fontsize=8)
        previous = p.gpus
    ax.axvline(job_deadline_hours, color="#2ca02c", linestyle="--",
               label=f"job deadline ({duration(job_deadline_hours)})")
    if budget_usd is not None:
        ax.axhline(budget_usd, color="#d62728", linestyle=":",
                   label=f"budget ({dollars(budget_usd)})")
    ax.set_xscale("log")
    low = min(p.deadline_hours for p in points)
    high = max(max(p.deadline_hours for p in points), job_deadline_hours)
    ax.set_xlim(low / 1.15, high * 1.15)
    ax.xaxis.set_major_locator(FixedLocator(deadline_ticks(low / 1.15, high * 1.15)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: duration(v)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    costs = [p.cost_usd for p in points if p.cost_usd is not None]
    top = max([*costs, budget_usd or 0.0])
    ax.set_ylim(0, top * 1.15)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: dollars(v)))
    ax.set_xlabel("deadline (log scale)")
    ax.set_ylabel("cheapest plan (USD)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # off the data
    fig.tight_layout()
    return fig
