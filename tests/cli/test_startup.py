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
