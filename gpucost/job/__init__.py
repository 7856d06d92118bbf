"""The job: what to run (spec), how it is read (parse) and how fast it runs (throughput)."""

from gpucost.job.parse import load_job, parse_job
from gpucost.job.spec import Assumptions, Constraints, JobSpec, RunSpec

__all__ = ["Assumptions", "Constraints", "JobSpec", "RunSpec", "load_job", "parse_job"]
