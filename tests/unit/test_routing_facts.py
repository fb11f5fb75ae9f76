"""Gathering the routing facts: buildx's store for configured platforms, `docker info` once per
node (then buildxpy's state), `buildx ls` only when buildx itself would ask the workers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from buildxpy.builders.routing_facts import routing_plan
from buildxpy.builders.state import load_state
from buildxpy.errors import BuilderNotFound
from buildxpy.platforms.names import parse_list
from tests.fakes import FakeRunner

DATA = Path(__file__).parent.parent / "data"
ARM64_INFO = (DATA / "docker-info-arm64.json").read_text()
AMD64_INFO = json.dumps({**json.loads(ARM64_INFO), "Architecture": "x86_64"})


@pytest.fixture
def config_dir(docker_config_dir: Path) -> Path:
    return docker_config_dir


def store(config_dir: Path, name: str, sample: str) -> None:
    instances = config_dir / "buildx" / "instances"
    instances.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / sample, instances / name)


def two_node_fake() -> FakeRunner:
    fake = FakeRunner()
    fake.on("--host", "unix:///var/run/docker.sock", "info", stdout=AMD64_INFO)
    fake.on("--context", "smpn2", "info", stdout=ARM64_INFO)
    return fake


def test_configured_platforms_from_the_store_and_each_nodes_own_platform(config_dir: Path) -> None:
    store(config_dir, "smp", "buildx-instance-two-nodes.json")
    fake = two_node_fake()
    plan = routing_plan(fake, "smp", parse_list(["linux/amd64,linux/arm64,linux/arm/v7"]))
    assert plan.driver == "docker-container"
    assert [(r.platform, r.node, r.runs, r.native_nodes) for r in plan.routes] == [
        ("linux/amd64", "smp0", "native", ["smp0"]),
        ("linux/arm64", "smp0", "emulated", ["smpn2"]),
        ("linux/arm/v7", "smpn2", "emulated", []),
    ]
    # Every platform is configured: buildx does not ask the workers, and neither does the plan.
    assert fake.find("buildx", "ls") == []
    assert len(fake.calls) == 2


def test_each_nodes_platform_is_asked_once_then_remembered(config_dir: Path) -> None:
    store(config_dir, "smp", "buildx-instance-two-nodes.json")
    routing_plan(two_node_fake(), "smp", parse_list(["linux/amd64"]))
    assert load_state(config_dir, "smp").natives == {
        "unix:///var/run/docker.sock": "linux/amd64",
        "smpn2": "linux/arm64",
    }
    again = FakeRunner()
    plan = routing_plan(again, "smp", parse_list(["linux/amd64,linux/arm64"]))
    assert again.calls == []
    assert [r.node_platform for r in plan.routes] == ["linux/amd64", "linux/amd64"]


def test_workers_are_asked_when_a_platform_is_not_configured(config_dir: Path) -> None:
    store(config_dir, "smp", "buildx-instance-two-nodes.json")
    fake = two_node_fake()
    ls = {
        "Name": "smp",
        "Driver": "docker-container",
        "Nodes": [
            {"Name": "smp0", "Status": "running",
             "Platforms": ["linux/amd64", "linux/arm64", "linux/amd64/v2", "linux/386", "linux/riscv64"]},
            {"Name": "smpn2", "Status": "inactive", "Platforms": ["linux/arm/v7"]},
        ],
    }  # fmt: skip
    fake.on("buildx", "ls", stdout=json.dumps(ls) + "\n")
    plan = routing_plan(fake, "smp", parse_list(["linux/riscv64"]))
    assert len(fake.find("buildx", "ls")) == 1
    [route] = plan.routes
    assert (route.node, route.matched, route.runs) == ("smp0", "reported", "emulated")
    assert plan.nodes[0].reported is not None
    assert plan.nodes[1].reported is None
    assert any("not running: smpn2" in w for w in plan.warnings)


def test_docker_driver_builder_is_one_node_the_engine(config_dir: Path) -> None:
    fake = FakeRunner().on("--context", "default", "info", stdout=AMD64_INFO)
    plan = routing_plan(fake, "default", parse_list(["linux/amd64,linux/arm64"]))
    assert plan.driver == "docker"
    assert [(r.platform, r.node, r.runs) for r in plan.routes] == [
        ("linux/amd64", "default", "native"),
        ("linux/arm64", "default", "emulated"),
    ]
    assert [c.args for c in fake.calls] == [
        ["--context", "default", "info", "--format", "{{json .}}"]
    ]
    cached = FakeRunner()
    routing_plan(cached, "default", parse_list(["linux/arm64"]))
    assert cached.calls == []


def test_the_default_context_is_remembered_per_docker_host(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    routing_plan(
        FakeRunner().on("--context", "default", "info", stdout=AMD64_INFO),
        "default",
        parse_list(["linux/arm64"]),
    )
    monkeypatch.setenv("DOCKER_HOST", "ssh://ci@arm-box")
    other = FakeRunner().on("--context", "default", "info", stdout=ARM64_INFO)
    plan = routing_plan(other, "default", parse_list(["linux/arm64"]))
    assert len(other.calls) == 1
    assert plan.routes[0].runs == "native"


def test_a_builder_that_is_neither_stored_nor_a_context_is_not_found(config_dir: Path) -> None:
    fake = FakeRunner().on(
        "--context", "ghost", "info", exit_code=1,
        stderr='Failed to initialize: unable to resolve docker endpoint: context "ghost": context not found: open …\n',
    )  # fmt: skip
    with pytest.raises(BuilderNotFound, match="builder 'ghost' does not exist"):
        routing_plan(fake, "ghost", parse_list(["linux/amd64"]))


def test_an_unreachable_daemon_leaves_the_platform_unknown(config_dir: Path) -> None:
    fake = FakeRunner().on(
        "--context", "default", "info", exit_code=1,
        stdout='{"ServerErrors":["Cannot connect to the Docker daemon"]}',
    )  # fmt: skip
    plan = routing_plan(fake, "default", parse_list(["linux/arm64"]))
    assert plan.routes[0].runs == "unknown"
    assert load_state(config_dir, "default").natives == {}


def test_a_remote_nodes_own_platform_is_the_first_it_reports(docker_config_dir: Path) -> None:
    instances = docker_config_dir / "buildx" / "instances"
    instances.mkdir(parents=True)
    (instances / "far").write_text(json.dumps({
        "Name": "far", "Driver": "remote",
        "Nodes": [{"Name": "far0", "Endpoint": "tcp://arm-box:1234",
                   "Platforms": [{"os": "linux", "architecture": "arm64"}]}],
    }))  # fmt: skip
    ls = {"Name": "far", "Driver": "remote",
          "Nodes": [{"Name": "far0", "Status": "running", "Platforms": ["linux/arm64", "linux/arm/v7"]}]}  # fmt: skip
    fake = FakeRunner().on("buildx", "ls", stdout=json.dumps(ls) + "\n")
    plan = routing_plan(fake, "far", parse_list(["linux/arm64"]))
    assert [(r.node, r.runs) for r in plan.routes] == [("far0", "native")]
    assert [c.args[:2] for c in fake.calls] == [["buildx", "ls"]]
