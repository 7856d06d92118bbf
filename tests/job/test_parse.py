import datetime as dt
import subprocess
import sys

import pytest

from gpucost.errors import InputError
from gpucost.job.parse import load_job, parse_job
from gpucost.job.spec import DEFAULT_MAX_INSTANCES

NOW = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
GOOD = {"name": "llama", "model": {"parameters": 7e9, "tokens": 2e12}, "deadline": "30d"}


def parse(**changes):
    data = {**GOOD, **changes}
    return parse_job({k: v for k, v in data.items() if v is not None}, "job.yaml", NOW)


def test_flops_from_parameters_and_tokens():
    job = parse()
    run = job.runs[0]
    # Model FLOPs: 6 N plus attention, 12 x layers x hidden x sequence per token.
    shape = run.shape
    assert run.flops == pytest.approx(2e12 * (6 * 7e9 + 12 * shape.layers * shape.hidden_size
                                              * shape.sequence_length))
    assert run.deadline_hours == pytest.approx(720)
    assert run.memory_gib == pytest.approx(7e9 * 16 / 2**30)  # model state, no headroom
    assert job.mode == "single" and job.constraints.max_instances == DEFAULT_MAX_INSTANCES


def test_explicit_flops_win_and_yaml_string_numbers_are_read():
    run = parse(flops="8.4e22", model={"parameters": "7e9"}).runs[0]
    assert run.flops == pytest.approx(8.4e22)
    assert run.parameters == pytest.approx(7e9)


def test_gpu_aliases_resolve_in_constraints():
    job = parse(constraints={"gpus": ["nvidia-a100-80gb", "H100"], "spot": "allowed"})
    assert job.constraints.gpus == ("A100-80GB", "H100")
    assert job.constraints.spot == "allowed"


def test_experiments_expand_counts_and_inherit_defaults():
    job = parse_job({"name": "sweep", "mode": "experiments", "deadline": "7d",
                     "precision": "fp8",
                     "experiments": [{"name": "a", "flops": 1e20, "count": 3},
                                     {"name": "b", "flops": 2e20, "deadline": "10d"}]},
                    "job.yaml", NOW)
    assert [r.name for r in job.runs] == ["a-1", "a-2", "a-3", "b"]
    assert [r.deadline_hours for r in job.runs] == [168, 168, 168, 240]
    assert {r.precision for r in job.runs} == {"fp8"}


@pytest.mark.parametrize(("changes", "field", "expected"), [
    ({"name": None}, "name", "non-empty job name"),
    ({"model": {"parameters": 7e9}}, "model.tokens", "positive number"),
    ({"model": {"parameters": -7e9, "tokens": 1e12}}, "model.parameters", "from 1 to 1e15"),
    ({"model": {"parameters": "lots", "tokens": 1e12}}, "model.parameters", "a number"),
    ({"model": {"parameters": True, "tokens": 1e12}}, "model.parameters", "a number"),
    ({"deadline": "someday"}, "deadline", "duration"),
    ({"deadline": None}, "deadline", "deadline like"),
    ({"deadline": "2020-01-01"}, "deadline", "in the future"),
    ({"precision": "int4"}, "precision", "one of fp32"),
    ({"mode": "parallel"}, "mode", "one of single"),
    ({"utilization": 1.5}, "utilization", "from 0.01 to 0.75"),
    ({"constraints": {"gpus": ["GTX-1080"]}}, "constraints.gpus", "GPU name or alias"),
    ({"constraints": {"spot": "sometimes"}}, "constraints.spot", "never, allowed, only"),
    ({"constraints": {"max_instances": 2.5}}, "constraints.max_instances", "whole number"),
    ({"constraints": {"budget_usd": -1}}, "constraints.budget_usd", "> 0"),
    ({"constraints": {"regions": "us-east-1,x"}}, None, None),
    ({"constraints": {"regoins": ["x"]}}, "constraints.regoins", "known field"),
    ({"constraints": ["aws"]}, "constraints", "mapping"),
    ({"memory": {"bytes_per_parameter": 0}}, "memory.bytes_per_parameter", "> 0"),
])
def test_bad_fields_name_the_field_and_expectation(changes, field, expected):
    if field is None:
        parse(**changes)  # a single string is accepted as a one-element list
        return
    with pytest.raises(InputError) as err:
        parse(**changes)
    message = str(err.value)
    assert message.startswith("job.yaml: " + field + ":"), message
    assert expected in message
    assert "\n" not in message


def test_experiments_errors_name_the_item():
    with pytest.raises(InputError, match=r"experiments\[1\]\.deadline"):
        parse_job({"name": "s", "mode": "experiments",
                   "experiments": [{"flops": 1e20, "deadline": "1d"},
                                   {"flops": 1e20, "deadline": "never"}]}, "job.yaml", NOW)


def test_load_job_reports_yaml_syntax_and_missing_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmodel: [unclosed\n")
    with pytest.raises(InputError, match=r"bad.yaml: line \d+: valid YAML"):
        load_job(bad)
    with pytest.raises(InputError, match="missing.yaml: file"):
        load_job(tmp_path / "missing.yaml")


def test_cli_bad_job_file_is_one_line_exit_2(tmp_path):
    job = tmp_path / "job.yaml"
    job.write_text("name: x\nmodel: {parameters: -1, tokens: 1e12}\ndeadline: 1d\n")
    proc = subprocess.run([sys.executable, "-m", "gpucost", "plan", str(job)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert lines == [f"gpucost: error: {job}: model.parameters: expected a number from 1 to "
                     "1e15, got -1"]


# -- messages quote what the user wrote, bounded; every number has a range ---------------

def _message(text: str, tmp_path) -> str:
    path = tmp_path / "job.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_job(path, NOW)
    return str(err.value)


def test_spot_yes_is_quoted_as_written(tmp_path):
    message = _message("name: x\nflops: 1e20\ndeadline: 1d\nconstraints: {spot: yes}\n",
                       tmp_path)
    assert message.endswith("constraints.spot: expected one of never, allowed, only, "
                            "got 'yes'")


def test_past_iso_deadline_is_quoted_as_written(tmp_path):
    message = _message("name: x\nflops: 1e20\ndeadline: 2024-01-01\n", tmp_path)
    assert "got 2024-01-01" in message and "datetime" not in message
    assert "in the future" in message


def test_impossible_unquoted_date_names_its_line(tmp_path):
    message = _message("name: x\nflops: 1e20\ndeadline: 2027-02-30\n", tmp_path)
    assert "line 3" in message and "'2027-02-30' is not a date" in message


def test_duplicate_keys_are_refused_with_their_line(tmp_path):
    message = _message("name: x\nflops: 1e20\ndeadline: 1d\nflops: 2e20\n", tmp_path)
    assert "line 4" in message and "duplicate key 'flops'" in message


@pytest.mark.parametrize(("changes", "field", "expected"), [
    ({"utilization": 0.9}, "utilization", "from 0.01 to 0.75"),
    ({"utilization": 1e-320}, "utilization", "from 0.01 to 0.75"),
    ({"model": {"parameters": 1e300, "tokens": 1e300}}, "model.parameters", "to 1e15"),
    ({"model": {"parameters": 1e-320, "tokens": 1e12}}, "model.parameters", "from 1 to"),
    ({"model": {"parameters": 1e15, "tokens": 1e16}}, "model", "at most 1e30 FLOPs"),
    ({"memory": {"activation_headroom": 0.25}}, "memory.activation_headroom",
     "no such field (removed"),
    ({"memory": {"min_gpu_memory_gib": -5}}, "memory.min_gpu_memory_gib", "> 0"),
    ({"constraints": {"max_gpus": 1e300}}, "constraints.max_gpus", "<= 1e7"),
    ({"constraints": {"max_instances": 10**9}}, "constraints.max_instances", "<= 100,000"),
    ({"constraints": {"budget_usd": float("inf")}}, "constraints.budget_usd", "<= 1e12"),
    ({"deadline": "9999-12-31"}, "deadline", "within ten years"),
    ({"deadline": "99999999999999999999d"}, "deadline", "within ten years"),
    ({"deadline": float("nan")}, "deadline", "a duration"),
    ({"deadline": 1e-320}, "deadline", "at least a minute away"),
    ({"deadline": float("inf")}, "deadline", "a duration"),
    ({"name": "x" * 500}, "name", "at most 100 characters"),
    ({"name": "a\nb"}, "name", "printable"),
])
def test_numbers_and_names_out_of_range_say_the_range(changes, field, expected):
    with pytest.raises(InputError) as err:
        parse(**changes)
    assert str(err.value).startswith(f"job.yaml: {field}: ")
    assert expected in str(err.value)


def test_quoted_values_are_capped_at_80_characters():
    with pytest.raises(InputError) as err:
        parse(deadline="9" * 100_000 + "x")
    got = str(err.value).split(", got ", 1)[1]
    assert len(got) <= 80 and "..." in got


def test_experiments_are_capped_at_1000_runs():
    data = {"name": "s", "mode": "experiments", "deadline": "1d",
            "experiments": [{"flops": 1e18, "count": 600}, {"flops": 1e18, "count": 600}]}
    with pytest.raises(InputError, match=r"experiments\[1\].count: expected at most 1,000"):
        parse_job(data, "job.yaml", NOW)
    data["experiments"] = [{"flops": 1e18, "count": 10_000}]
    with pytest.raises(InputError, match="<= 1,000"):
        parse_job(data, "job.yaml", NOW)
    data["experiments"] = [{"flops": 1e18, "count": 1000}]
    assert len(parse_job(data, "job.yaml", NOW).runs) == 1000


def test_removed_activation_headroom_is_one_line_exit_2(tmp_path, capsys):
    """Issue 20, item 16: an old job file naming memory.activation_headroom gets one line
    naming the field, exit 2, no traceback."""
    from gpucost.cli import main

    path = tmp_path / "old.yaml"
    path.write_text("name: x\nflops: 1e20\ndeadline: 1d\nmemory:\n"
                    "  activation_headroom: 0.25\n")
    with pytest.raises(SystemExit) as info:
        main(["plan", str(path)])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert err.splitlines() == [f"gpucost: error: {path}: memory.activation_headroom: "
                                "expected no such field (removed: activations are modelled "
                                "per layout; delete it)"]
