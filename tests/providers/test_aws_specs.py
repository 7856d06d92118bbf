"""AWS instance specs: the GpuInfo parser, and the real instance data moto ships."""

from __future__ import annotations

import pytest

from gpucost.providers.aws.specs import (
    InstanceSpec,
    fetch_region_gpu_specs,
    parse_gpu_info,
    parse_instance_type_pages,
    parse_offering_pages,
)


def _instance(name: str, gpu: str | None, count: int = 1, gpu_mib: int = 16384,
              partition: float = 1.0, vcpus: int = 4, mib: int = 16384) -> dict:
    entry: dict = {"InstanceType": name, "VCpuInfo": {"DefaultVCpus": vcpus},
                   "MemoryInfo": {"SizeInMiB": mib}}
    if gpu is not None:
        entry["GpuInfo"] = {"Gpus": [{"Name": gpu, "Manufacturer": "NVIDIA", "Count": count,
                                      "GpuPartitionSize": partition,
                                      "MemoryInfo": {"SizeInMiB": gpu_mib}}],
                            "TotalGpuMemoryInMiB": gpu_mib * count}
    return entry


def test_parse_gpu_info_resolves_memory_variant_and_units():
    spec = parse_gpu_info(_instance("p4de.24xlarge", "A100", count=8, gpu_mib=81920,
                                    vcpus=96, mib=1179648))
    assert spec == InstanceSpec("p4de.24xlarge", "A100-80GB", 8, 80.0, 96, 1152.0)


def test_parse_gpu_info_keeps_unknown_gpu_name_as_given():
    spec = parse_gpu_info(_instance("g5g.xlarge", "T4g"))
    assert spec is not None and spec.gpu == "T4g"


@pytest.mark.parametrize("entry", [
    _instance("m5.large", None),                                      # no GpuInfo
    _instance("g6f.large", "L4", count=0, gpu_mib=2861, partition=0.125),  # fractional GPU
    _instance("gr6f.4xlarge", "L4", count=1, gpu_mib=11444, partition=0.5),  # a share of one
    {"InstanceType": "x.y", "GpuInfo": {"Gpus": []}, "VCpuInfo": {"DefaultVCpus": 2},
     "MemoryInfo": {"SizeInMiB": 1024}},
])
def test_parse_gpu_info_skips_non_gpu_and_fractional_types(entry):
    assert parse_gpu_info(entry) is None


def test_page_parsers_merge_pages():
    pages = [{"InstanceTypes": [_instance("g4dn.xlarge", "T4"), _instance("c5.large", None)]},
             {"InstanceTypes": [_instance("g5.xlarge", "A10G", gpu_mib=22888)]}]
    specs = parse_instance_type_pages(pages)
    assert sorted(specs) == ["g4dn.xlarge", "g5.xlarge"]
    assert specs["g4dn.xlarge"].gpu == "T4"
    offerings = [{"InstanceTypeOfferings": [{"InstanceType": "a"}]},
                 {"InstanceTypeOfferings": [{"InstanceType": "b"}, {"InstanceType": "a"}]}]
    assert parse_offering_pages(offerings) == {"a", "b"}


@pytest.fixture(scope="module")
def us_east_1_specs(aws_moto) -> dict[str, InstanceSpec]:
    import boto3

    return fetch_region_gpu_specs(boto3.client("ec2", region_name="us-east-1"), "us-east-1")


@pytest.mark.parametrize(("instance_type", "gpu", "count", "vcpus"), [
    ("p4d.24xlarge", "A100-40GB", 8, 96),
    ("p4de.24xlarge", "A100-80GB", 8, 96),
    ("g5.xlarge", "A10G", 1, 4),
    ("p5.48xlarge", "H100", 8, 192),
    ("g4dn.xlarge", "T4", 1, 4),
    ("g6e.xlarge", "L40S", 1, 4),
    ("p6-b200.48xlarge", "B200", 8, 192),
])
def test_moto_instance_data_maps_to_canonical_gpus(us_east_1_specs, instance_type, gpu,
                                                   count, vcpus):
    spec = us_east_1_specs[instance_type]
    assert (spec.gpu, spec.gpu_count, spec.vcpus) == (gpu, count, vcpus)


def test_moto_specs_keep_only_whole_gpu_types(us_east_1_specs):
    assert "p4d.24xlarge" in us_east_1_specs
    assert not any(name.startswith(("m5.", "c5.", "t3.")) for name in us_east_1_specs)
    assert all(spec.gpu_count >= 1 for spec in us_east_1_specs.values())
    assert not any(name.startswith("g6f.") for name in us_east_1_specs)  # fractional L4


def test_moto_offerings_limit_types_to_the_region(aws_moto):
    import boto3

    specs = fetch_region_gpu_specs(boto3.client("ec2", region_name="eu-west-1"), "eu-west-1")
    # moto's offering data: eu-west-1 has g5 and p4d but not p5.48xlarge.
    assert "g5.xlarge" in specs and "p4d.24xlarge" in specs
    assert "p5.48xlarge" not in specs
