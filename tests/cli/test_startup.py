"""`gpucost plan` must not pay for cloud SDK imports (boto3, google-cloud, azure, fsspec)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = """
import sys, runpy
sys.argv = ["gpucost", "plan", "examples/llama-7b.yaml", "--output", "json"]
try:
    runpy.run_module("gpucost", run_name="__main__")
except SystemExit as exit_:
    code = exit_.code
heavy = sorted({m.split(".")[0] + ("." + m.split(".")[1] if m.startswith("google.") else "")
                for m in sys.modules
                if m.startswith(("boto3", "botocore", "google.cloud", "google.auth",
                                 "matplotlib", "azure", "fsspec", "s3fs", "gcsfs",
                                 "aiohttp"))})
print("@@", code, heavy, file=sys.stderr)
"""


def test_plan_command_imports_no_cloud_sdk():
    proc = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    marker = next(line for line in proc.stderr.splitlines() if line.startswith("@@"))
    assert marker == "@@ 0 []", marker
    plan = json.loads(proc.stdout)
    assert plan["plan_version"] == 1 and plan["status"] == "optimal"


# Issue 20, item 17: help and argument errors import neither pandas nor numpy.
LIGHT = """
import sys, runpy
sys.argv = ["gpucost", *sys.argv[1:]]
try:
    runpy.run_module("gpucost", run_name="__main__")
except SystemExit as exit_:
    code = exit_.code
heavy = sorted(m for m in sys.modules if m in ("pandas", "numpy", "pulp", "matplotlib"))
print("@@", code, heavy, file=sys.stderr)
"""
LIGHT_INVOCATIONS = [
    ["--help"], ["-h"], ["nosuch"], ["plan", "--help"], ["plan"], ["plan", "--bogus"],
    ["frontier", "--help"], ["frontier", "x.yaml", "--points", "1"],
    ["estimate", "--help"], ["calibrate", "--help"], ["diff", "--help"],
]


def _light(args: list[str]) -> tuple[str, str]:
    proc = subprocess.run([sys.executable, "-c", LIGHT, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    marker = next(line for line in proc.stderr.splitlines() if line.startswith("@@"))
    return marker, proc.stdout + proc.stderr


def test_help_and_argument_errors_import_no_pandas_or_numpy():
    for args in LIGHT_INVOCATIONS:
        marker, output = _light(args)
        code = 0 if args[0] in ("--help", "-h") or "--help" in args else 2
        assert marker == f"@@ {code} []", (args, marker, output)


def test_the_command_list_matches_the_commands():
    """`gpucost --help` lists each command from a table (no import): it must be the
    commands' own first line, and every command of every module must be in it."""
    from importlib import import_module

    from gpucost.cli import COMMANDS

    modules = {module for module, _, _ in COMMANDS.values()}
    registered = {c.name for m in modules for c in import_module(m).COMMANDS}
    assert registered == set(COMMANDS)
    for name, (module, attribute, short) in COMMANDS.items():
        command = getattr(import_module(module), attribute)
        assert command.name == name
        assert command.get_short_help_str(limit=64) == short, name
