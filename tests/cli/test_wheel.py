"""The wheel carries the package data and the shipped snapshots, and they load when installed.

Runs in the normal suite (about a second): the wheel is built with ``--no-isolation`` from
a copy of the working tree (other work in the tree cannot disturb it, and the copy shows
that building writes nothing into the source tree), then unpacked and imported from a
fresh interpreter whose only path to gpucost is the unpacked wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FALLBACK_PATHS = ["gpucost", "pricing_snapshots", "pyproject.toml", "README.md", ".gitignore"]


def _project_files() -> list[str]:
    """Tracked and untracked-but-not-ignored files of the working tree."""
    try:
        listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"],
                                cwd=REPO, capture_output=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [name for name in listed.decode().split("\0") if name]


def _copy_tree(dest: Path) -> None:
    files = _project_files()
    if files:
        for name in files:
            source = REPO / name
            if source.is_file():  # may have been deleted by concurrent work
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest / name)
        return
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in FALLBACK_PATHS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, dest / name)


def _listing(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    src, out = base / "src", base / "dist"
    src.mkdir()
    _copy_tree(src)
    before = _listing(src)
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=src, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    created = sorted(_listing(src) - before)
    assert created == [], f"building the wheel wrote into the source tree: {created}"
    wheels = list(out.glob("gpucost-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_contents(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = zf.read(entry_points).decode()

    def has(pattern: str) -> bool:
        return any(fnmatch(n, pattern) for n in names)

    assert has("gpucost/_shipped_snapshots/aws/*.csv")
    assert has("gpucost/_shipped_snapshots/gcp/*.csv")
    assert "gpucost/catalog/data/gpu_specs.csv" in names
    assert "gpucost/catalog/data/gpu_aliases.csv" in names
    assert "gpucost/providers/azure/vm_sizes.csv" in names
    assert "gpucost/cli/__init__.py" in names
    # Every shipped snapshot in the repo is in the wheel, byte for byte.
    repo_snapshots = sorted(str(p.relative_to(REPO / "pricing_snapshots"))
                            for p in (REPO / "pricing_snapshots").glob("*/*.csv"))
    assert repo_snapshots
    with zipfile.ZipFile(wheel) as zf:
        for rel in repo_snapshots:
            assert zf.read(f"gpucost/_shipped_snapshots/{rel}") == \
                (REPO / "pricing_snapshots" / rel).read_bytes()
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert not any(n.startswith(("tests/", "pricing_snapshots/")) for n in names)
    assert "gpucost = gpucost.cli:main" in scripts


PROBE = """
import json, gpucost, gpucost.catalog.snapshot as s
shipped = s.shipped_snapshot_dir()
offers = s.load_offers()
print(json.dumps({"package": gpucost.__file__, "shipped": str(shipped),
                  "rows": len(offers), "providers": sorted(set(offers["provider"])),
                  "shipped_rows": len(s.load_offers(shipped))}))
"""


def _run_from(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONPATH"] = str(site)
    env["GPUCOST_SNAPSHOT_DIR"] = str(cwd / "no-user-snapshots")
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture(scope="module")
def unpacked(wheel, tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("unpacked")
    site, elsewhere = base / "site", base / "elsewhere"
    elsewhere.mkdir()
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    return site, elsewhere


def test_unpacked_wheel_finds_its_snapshots(unpacked):
    site, elsewhere = unpacked
    proc = _run_from(site, elsewhere, "-c", PROBE)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(info["package"]).resolve().is_relative_to(site.resolve())
    assert Path(info["shipped"]).resolve() == (site / "gpucost" / "_shipped_snapshots").resolve()
    assert info["rows"] > 0 and info["rows"] == info["shipped_rows"]
    assert info["providers"] == ["aws", "azure", "gcp", "lambda", "nebius", "oci", "runpod",
                                 "vast"]
    assert "Traceback" not in proc.stderr


def test_unpacked_wheel_cli(unpacked):
    site, elsewhere = unpacked
    proc = _run_from(site, elsewhere, "-m", "gpucost", "prices", "--gpu", "L4", "--limit", "3",
                     "-o", "json")
    assert proc.returncode == 0, proc.stderr
    records = json.loads(proc.stdout)
    assert len(records) == 3 and {r["gpu"] for r in records} == {"L4"}
    gpus = _run_from(site, elsewhere, "-m", "gpucost", "gpus", "-o", "json")
    assert gpus.returncode == 0, gpus.stderr
    assert any(r["gpu"] == "H100" for r in json.loads(gpus.stdout))


def test_unpacked_wheel_prices_h100_and_spot_from_each_cloud(unpacked):
    """`gpucost prices --gpu H100` sees aws, gcp and azure; `--spot` sees all three."""
    site, elsewhere = unpacked
    h100 = _run_from(site, elsewhere, "-m", "gpucost", "prices", "--gpu", "H100", "-o", "json")
    assert h100.returncode == 0, h100.stderr
    assert {"aws", "gcp", "azure"} <= {r["provider"] for r in json.loads(h100.stdout)}
    spot = _run_from(site, elsewhere, "-m", "gpucost", "prices", "--spot", "-o", "json")
    assert spot.returncode == 0, spot.stderr
    records = json.loads(spot.stdout)
    assert {r["pricing"] for r in records} == {"spot"}
    assert {"aws", "gcp", "azure"} <= {r["provider"] for r in records}
    assert {r["provider"] for r in records} <= {"aws", "gcp", "azure", "oci", "nebius",
                                                "runpod"}
