"""The planner: candidates from offers, one exact solver per mode, and the explained plan."""

from gpucost.planner.plan import PLAN_VERSION, Allocation, Alternative, Plan
from gpucost.planner.planner import plan_job

__all__ = ["PLAN_VERSION", "Allocation", "Alternative", "Plan", "plan_job"]
