"""`buildxpy builder …` against the real bed: two daemons and an ssh endpoint as nodes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Bed, CliResult, cli_env, docker, run_cli

LOCAL = "unix:///var/run/docker.sock"


def bxp(*args: str, cwd: Path | None = None) -> CliResult:
    return run_cli("--log-format", "json", "-v", *args, cwd=cwd)


def docker_commands(result: CliResult, *, mutating: bool) -> list[str]:
    """The docker commands buildxpy ran, from its JSON log lines (mutating ones log at info)."""
    found = []
    for line in result.stderr.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "docker" and (event["level"] == "info") == mutating:
            found.append(" ".join(event["argv"][1:]))
    return found


def contexts() -> dict[str, str]:
    out = docker("context", "ls", "--format", "json")
    return {i["Name"]: i["DockerEndpoint"] for i in map(json.loads, out.splitlines())}


def listed() -> dict[str, dict[str, Any]]:
    out = docker("buildx", "ls", "--format", "json")
    return {i["Name"]: i for i in map(json.loads, out.splitlines())}


def write_config(path: Path, builder: str, nodes: list[tuple[str, str, list[str]]]) -> None:
    lines = ['platforms = ["linux/amd64", "linux/arm64", "linux/arm/v7"]', "[builder]",
             f'name = "{builder}"']  # fmt: skip
    for name, endpoint, platforms in nodes:
        lines += ["[[builder.nodes]]", f'name = "{name}"', f'endpoint = "{endpoint}"',
                  f"platforms = {json.dumps(platforms)}"]  # fmt: skip
    (path / "buildxpy.toml").write_text("\n".join(lines) + "\n")


@pytest.fixture
def cleanup(docker_config: Path) -> Iterator[list[str]]:
    """Names of builders and contexts a test may leave behind; removed whatever happens."""
    names: list[str] = []
    yield names
    for name in names:
        docker("buildx", "rm", name, check=False)
    for name in names:
        docker("context", "rm", "--force", name, check=False)


def test_nodes_are_created_reconciled_and_removed(
    bed: Bed, unique: str, tmp_path: Path, cleanup: list[str]
) -> None:
    node2, ssh = bed["BUILDXPY_BED_NODE2_HOST"], bed["BUILDXPY_BED_SSH_HOST"]
    b, n1, n2, n3 = unique, f"{unique}a", f"{unique}b", f"{unique}c"
    cleanup += [b, n1, n2, n3]
    write_config(tmp_path, b, [(n1, LOCAL, ["linux/amd64"]), (n2, node2, ["linux/arm64"])])

    first = bxp("builder", "setup", "--no-bootstrap", cwd=tmp_path)
    assert first.returncode == 0, first
    assert docker_commands(first, mutating=True) == [
        f"context create {n1} --docker host={LOCAL}",
        f"context create {n2} --docker host={node2}",
        f"buildx create --name {b} --driver docker-container --platform linux/amd64 --node {n1} {n1}",
        f"buildx create --append --name {b} --platform linux/arm64 --node {n2} {n2}",
    ]
    assert {n1: LOCAL, n2: node2}.items() <= contexts().items()
    assert "platforms built under QEMU emulation" in first.stderr

    # Nothing changed: read-only queries only, and a dry run has nothing to print.
    again = bxp("builder", "setup", "--no-bootstrap", cwd=tmp_path)
    assert again.returncode == 0, again
    assert docker_commands(again, mutating=False) == ["buildx ls --format json"]
    assert docker_commands(again, mutating=True) == []
    dry = bxp("builder", "setup", "--no-bootstrap", "--dry-run", cwd=tmp_path)
    assert (dry.returncode, dry.stdout) == (0, "")

    # A node added over ssh is appended.
    write_config(tmp_path, b, [(n1, LOCAL, ["linux/amd64"]), (n2, node2, ["linux/arm64"]),
                               (n3, ssh, ["linux/arm/v7"])])  # fmt: skip
    added = bxp("builder", "setup", "--no-bootstrap", cwd=tmp_path)
    assert added.returncode == 0, added
    assert docker_commands(added, mutating=True) == [
        f"context create {n3} --docker host={ssh}",
        f"buildx create --append --name {b} --platform linux/arm/v7 --node {n3} {n3}",
    ]
    inspected = bxp("builder", "inspect", b, "--json", cwd=tmp_path)
    assert inspected.returncode == 0, inspected
    report = json.loads(inspected.stdout)
    assert report["driver"] == "docker-container"
    assert [(n["name"], n["endpoint"], n["status"], n["platforms"]) for n in report["nodes"]] == [
        (n1, n1, "inactive", ["linux/amd64"]),
        (n2, n2, "inactive", ["linux/arm64"]),
        (n3, n3, "inactive", ["linux/arm/v7"]),
    ]
    everything = json.loads(bxp("builder", "ls", "--json").stdout)
    assert [n["name"] for n in next(x for x in everything if x["name"] == b)["nodes"]] == [
        n1, n2, n3,
    ]  # fmt: skip

    # n2 changes its platforms (updated in place), n3 is dropped (leaves, its context goes).
    write_config(tmp_path, b, [(n1, LOCAL, ["linux/amd64"]),
                               (n2, node2, ["linux/arm64", "linux/arm/v7"])])  # fmt: skip
    changed = bxp("builder", "setup", "--no-bootstrap", cwd=tmp_path)
    assert changed.returncode == 0, changed
    assert docker_commands(changed, mutating=True) == [
        f"buildx create --append --name {b} --platform linux/arm64,linux/arm/v7 --node {n2} {n2}",
        f"buildx create --leave --name {b} --node {n3}",
        f"--context {n3} rm --force buildx_buildkit_{n3}",
        f"--context {n3} volume rm --force buildx_buildkit_{n3}_state",
        f"context rm --force {n3}",
    ]
    nodes = listed()[b]["Nodes"]
    assert [(n["Name"], n["Platforms"]) for n in nodes] == [
        (n1, ["linux/amd64"]), (n2, ["linux/arm64", "linux/arm/v7"]),
    ]  # fmt: skip
    assert n3 not in contexts()

    removed = bxp("builder", "rm", cwd=tmp_path)
    assert removed.returncode == 0, removed
    assert b not in listed()
    assert not {n1, n2} & contexts().keys()


def _buildkit_leftovers(host: str, node: str) -> list[str]:
    name = f"buildx_buildkit_{node}"
    containers = docker("-H", host, "ps", "-a", "--format", "{{.Names}}").split()
    volumes = docker("-H", host, "volume", "ls", "-q").split()
    return [x for x in containers + volumes if x.startswith(name)]


def test_a_node_that_leaves_takes_its_buildkit_container_and_volume_along(
    bed: Bed, unique: str, tmp_path: Path, cleanup: list[str]
) -> None:
    """A booted node on the second daemon, dropped from the configuration: nothing of it stays
    running there, where no context reaches it any more."""
    node2 = bed["BUILDXPY_BED_NODE2_HOST"]
    b, n1, n2 = unique, f"{unique}a", f"{unique}b"
    cleanup += [b, n1, n2]
    write_config(tmp_path, b, [(n1, LOCAL, ["linux/amd64"]), (n2, node2, ["linux/arm64"])])
    try:
        booted = bxp("builder", "setup", cwd=tmp_path)
        assert booted.returncode == 0, booted
        assert _buildkit_leftovers(node2, n2) == [f"buildx_buildkit_{n2}",
                                                  f"buildx_buildkit_{n2}_state"]  # fmt: skip
        write_config(tmp_path, b, [(n1, LOCAL, ["linux/amd64"])])
        left = bxp("builder", "setup", cwd=tmp_path)
        assert left.returncode == 0, left
        assert n2 not in contexts()
        assert _buildkit_leftovers(node2, n2) == []
        removed = bxp("builder", "rm", cwd=tmp_path)
        assert removed.returncode == 0, removed
        assert _buildkit_leftovers(LOCAL, n1) == []
    finally:
        for host, node in ((node2, n2), (LOCAL, n1)):
            docker("-H", host, "rm", "-f", f"buildx_buildkit_{node}", check=False)
            docker("-H", host, "volume", "rm", "-f", f"buildx_buildkit_{node}_state", check=False)


def test_rm_keeps_contexts_the_user_made(
    bed: Bed, unique: str, tmp_path: Path, cleanup: list[str]
) -> None:
    b, mine = unique, f"{unique}u"
    cleanup += [b, mine]
    docker("context", "create", mine, "--docker", f"host={bed['BUILDXPY_BED_NODE2_HOST']}")
    write_config(tmp_path, b, [(mine, bed["BUILDXPY_BED_NODE2_HOST"], ["linux/arm64"])])
    setup = bxp("builder", "setup", "--no-bootstrap", cwd=tmp_path)
    assert setup.returncode == 0, setup
    assert docker_commands(setup, mutating=True) == [
        (
            f"buildx create --name {b} --driver docker-container --platform linux/arm64 "
            f"--node {mine} {mine}"
        ),
    ]
    assert bxp("builder", "rm", b).returncode == 0
    assert b not in listed()
    assert mine in contexts()


def test_boot_failure_names_the_node_and_the_cause(
    bed: Bed, unique: str, tmp_path: Path, cleanup: list[str]
) -> None:
    """The boot fails on purpose, wherever the test runs (a machine with moby/buildkit too): the
    node's BuildKit image is one the bed's registry has never held."""
    cleanup.append(unique)
    image = f"{bed.registry}/{unique}-no-such-buildkit:absent"
    result = run_cli("builder", "setup", "--builder", unique, "--platform", "linux/amd64",
                     "--driver-opt", f"image={image}",
                     "--log-format", "json", "--timeout", "120", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1, result
    errors = [line for line in result.stderr.splitlines() if line.startswith("buildxpy: error:")]
    assert len(errors) == 1
    assert errors[0].startswith(
        f"buildxpy: error: builder '{unique}' node '{unique}0' ({LOCAL}) failed to boot: "
        f"cannot pull the BuildKit image {image} (the registry has no such image): "
        f"{image}: not found;"
    )
    assert "no BuildKit container was started" in errors[0]
    assert len(errors[0]) < 700
    # The builder itself was made; only its boot failed.
    assert unique in listed()


def test_concurrent_setups_make_one_builder(
    bed: Bed, unique: str, tmp_path: Path, cleanup: list[str]
) -> None:
    node2 = bed["BUILDXPY_BED_NODE2_HOST"]
    b, n1, n2 = unique, f"{unique}a", f"{unique}b"
    cleanup += [b, n1, n2]
    write_config(tmp_path, b, [(n1, LOCAL, ["linux/amd64"]), (n2, node2, ["linux/arm64"])])
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "buildxpy",
                "--log-format",
                "json",
                "-v",
                "builder",
                "setup",
                "--no-bootstrap",
            ],
            cwd=tmp_path,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    results = [CliResult([], p.returncode, *out) for p, out in zip(procs, outputs, strict=True)]
    assert [r.returncode for r in results] == [0, 0, 0, 0], "\n".join(map(str, results))
    creators = [r for r in results if docker_commands(r, mutating=True)]
    assert len(creators) == 1
    assert [n["Name"] for n in listed()[b]["Nodes"]] == [n1, n2]


def test_default_builder_is_used_as_it_is(bed: Bed, docker_config: Path) -> None:
    result = bxp("builder", "setup", "--builder", "default", "--platform",
                 "linux/amd64,linux/arm64", "--json")  # fmt: skip
    assert result.returncode == 0, result
    assert docker_commands(result, mutating=True) == []
    report = json.loads(result.stdout)
    assert report["driver"] == "docker"
    assert report["nodes"][0]["status"] == "running"
    assert report["nodes"][0]["native"] == "linux/amd64"
    assert report["emulated"] == ["linux/arm64"]
    dry = bxp("builder", "setup", "--builder", "default", "--dry-run")
    assert (dry.returncode, dry.stdout) == (0, "")


def test_missing_builder_and_bad_input_are_one_line_errors(
    bed: Bed, docker_config: Path, unique: str
) -> None:
    for args, message in [
        (["builder", "inspect", unique], f"builder '{unique}' does not exist"),
        (["builder", "rm", unique], f"builder '{unique}' does not exist"),
        (["builder", "setup", "--node", "n=ftp://host"], "unsupported endpoint 'ftp://host'"),
        (["builder", "setup", "--builder", "a/b"], "invalid builder name 'a/b'"),
    ]:
        result = run_cli(*args)
        assert result.returncode == 1, result
        assert result.stderr.startswith("buildxpy: error: ")
        assert message in result.stderr
        assert result.stderr.count("\n") == 1


def test_qemu_builder_follows_the_platforms_and_force_recreates(
    bed: Bed, unique: str, tmp_path: Path, cleanup: list[str]
) -> None:
    cleanup.append(unique)
    base = ("builder", "setup", "--builder", unique, "--no-bootstrap", "--platform")
    made = bxp(*base, "linux/amd64,linux/arm64", cwd=tmp_path)
    assert made.returncode == 0, made
    assert docker_commands(made, mutating=True) == [
        (
            f"buildx create --name {unique} --driver docker-container "
            f"--platform linux/amd64,linux/arm64 --node {unique}0"
        ),
    ]
    wider = bxp(*base, "linux/amd64,linux/arm64,linux/arm/v7", cwd=tmp_path)
    assert docker_commands(wider, mutating=True) == [
        (
            f"buildx create --append --name {unique} "
            f"--platform linux/amd64,linux/arm64,linux/arm/v7 --node {unique}0"
        ),
    ]
    assert listed()[unique]["Nodes"][0]["Platforms"] == [
        "linux/amd64", "linux/arm64", "linux/arm/v7",
    ]  # fmt: skip
    forced = bxp(*base, "linux/amd64,linux/arm64,linux/arm/v7", "--force", "--use", cwd=tmp_path)
    assert forced.returncode == 0, forced
    assert docker_commands(forced, mutating=True) == [
        f"buildx rm {unique}",
        (
            f"buildx create --name {unique} --driver docker-container "
            f"--platform linux/amd64,linux/arm64,linux/arm/v7 --node {unique}0"
        ),
        f"buildx use {unique}",
    ]
    assert json.loads(bxp("builder", "inspect", unique, "--json").stdout)["current"] is True
    stopped = bxp("builder", "stop", unique)
    assert docker_commands(stopped, mutating=True) == [f"buildx stop {unique}"]
    assert bxp("builder", "use", "default").returncode == 0
    assert json.loads(bxp("builder", "inspect", unique, "--json").stdout)["current"] is False
