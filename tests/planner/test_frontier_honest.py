"""The frontier respects the budget (issue 20, item 3), and its picture does not
mislead (item 11): rendered here and checked element by element."""

from __future__ import annotations

import pytest
from test_answers_hold import H100_ROWS, job
from tests_support import catalog

from gpucost.errors import InputError
from gpucost.planner.frontier import frontier
from gpucost.report.frontier_plot import deadline_ticks, dollars, draw_frontier, plot_frontier
from gpucost.report.plan_report import render_frontier


def _budgeted(budget: float):
    return job(constraints={"max_instances": 16, "budget_usd": budget})


def test_no_over_budget_point_is_marked_a_plan():
    free = frontier(job(), catalog(H100_ROWS), points=6)
    costs = sorted(p.cost_usd for p in free if p.feasible)
    budget = (costs[0] + costs[-1]) / 2  # some deadlines fit it, the fastest do not
    points = frontier(_budgeted(budget), catalog(H100_ROWS), points=6)
    over = [p for p in points if p.status == "over budget"]
    assert over and all(not p.feasible and p.cost_usd > budget for p in over)
    assert all("over the" in p.note for p in over)
    plans = [p for p in points if p.status in ("optimal", "dominated")]
    assert plans and all(p.feasible and p.cost_usd <= budget for p in plans)
    text = render_frontier(points)
    assert "over budget" in text


def test_a_job_over_budget_at_every_deadline_has_no_plan():
    points = frontier(_budgeted(1.0), catalog(H100_ROWS), points=4)
    assert not any(p.feasible for p in points)
    assert {p.status for p in points} <= {"over budget", "infeasible"}
    assert "No deadline in the range has a plan within the budget." in render_frontier(points)


def test_the_jobs_own_deadline_is_never_called_dominated():
    # one run (not divisible), 2 weeks: far beyond its earliest finish, so a shorter
    # deadline costs the same
    points = frontier(job(mode="single", deadline="14d", flops=1e20),
                      catalog(H100_ROWS[:2]),
                      points=6)
    (own,) = [p for p in points if p.is_job_deadline]
    assert own.status == "optimal" and "shorter deadline costs the same" in own.note
    assert any(p.status == "dominated" for p in points)  # the others still say so


def _labels(texts) -> list[str]:
    return [t.get_text() for t in texts if t.get_text()]


def test_the_plot_is_zero_based_in_dollars_with_every_status(tmp_path):
    free = frontier(job(), catalog(H100_ROWS), points=8)
    costs = sorted(p.cost_usd for p in free if p.feasible)
    budget = (costs[0] + costs[-1]) / 2
    points = frontier(_budgeted(budget), catalog(H100_ROWS), points=8)
    fig = draw_frontier(points, 48.0, "t", budget)  # sets the Agg backend
    import matplotlib.pyplot as plt

    try:
        fig.canvas.draw()
        ax = fig.axes[0]
        assert ax.get_ylim()[0] == 0  # a 2% step is drawn as 2%
        assert ax.get_ylabel() == "cheapest plan (USD)"
        yticks = _labels(ax.get_yticklabels())
        assert yticks[0] == "$0" and all(t.startswith("$") for t in yticks)
        # the curve runs to the last deadline with a plan, past the deadline line
        line = ax.get_lines()[0]
        assert max(line.get_xdata()) == max(p.deadline_hours for p in points if p.feasible)
        legend = _labels(ax.get_legend().get_texts())
        for status in {p.status for p in points}:
            assert any(label.startswith(status) or (status == "optimal" and
                                                    label.startswith("plan"))
                       for label in legend), (status, legend)
        assert any(label.startswith("budget") for label in legend)
        assert any(label.startswith("job deadline") for label in legend)
        # tick labels on the deadline axis do not overlap
        renderer = fig.canvas.get_renderer()
        boxes = sorted((t.get_window_extent(renderer) for t in ax.get_xticklabels()
                        if t.get_text() and t.get_visible()), key=lambda b: b.x0)
        assert len(boxes) >= 2
        assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:], strict=False))
        png = tmp_path / "frontier.png"
        fig.savefig(png)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        plt.close(fig)


def test_plot_format_follows_the_suffix(tmp_path):
    points = frontier(job(), catalog(H100_ROWS), points=3)
    svg = tmp_path / "f.svg"
    plot_frontier(points, 48.0, str(svg), "t")
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    with pytest.raises(InputError, match="ending in .png, .svg"):
        plot_frontier(points, 48.0, str(tmp_path / "f.jpeg"), "t")


def test_axis_labels():
    assert [dollars(v) for v in (0, 500, 12_000, 150_000, 1_500_000)] == [
        "$0", "$500", "$12k", "$150k", "$1.5M"]
    assert deadline_ticks(6, 192) == [6, 12, 24, 48, 96, 168]
    assert len(deadline_ticks(1, 87600)) <= 8
