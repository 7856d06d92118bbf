"""The planner: candidates from offers, one exact solver per mode, and the explained plan.

Import the solver from :mod:`gpucost.planner.planner` (``plan_job``); this package
itself stays light, so that reading a plan file (the launcher) does not load pulp.
"""
