"""Real `docker-container` builders on the bed: BuildKit booted in a container of each node's daemon
(the bed makes moby/buildkit present in both), building, pushing, caching, stopping, removing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Bed, CliResult, docker, run_cli

THREE = "linux/amd64,linux/arm64,linux/arm/v7"
UNAME = {"linux/amd64": "x86_64", "linux/arm64": "aarch64", "linux/arm/v7": "armv7l"}
# BuildKit in a container reaches the bed's registry on the host's loopback.
HOST_NETWORK = ("--driver-opt", "network=host")


def bxp(*args: str, cwd: Path | None = None) -> CliResult:
    return run_cli("--log-format", "json", *args, cwd=cwd)


def leftovers(host: str, node: str) -> dict[str, str]:
    """The node's BuildKit container (with its state) and volume on the daemon at ``host``."""
    name = f"buildx_buildkit_{node}"
    found = {}
    for line in docker("-H", host, "ps", "-a", "--format", "{{.Names}} {{.State}}").splitlines():
        container, _, state = line.partition(" ")
        if container == name:
            found[container] = state
    for volume in docker("-H", host, "volume", "ls", "-q").split():
        if volume == f"{name}_state":
            found[volume] = "volume"
    return found


def remove_everything(name: str, nodes: list[tuple[str, str]]) -> None:
    docker("buildx", "rm", "--force", name, check=False)
    for host, node in nodes:
        docker("-H", host, "rm", "-f", f"buildx_buildkit_{node}", check=False)
        docker("-H", host, "volume", "rm", "-f", f"buildx_buildkit_{node}_state", check=False)
        docker("context", "rm", "--force", node, check=False)


@pytest.fixture
def context(tmp_path: Path, bed: Bed, unique: str) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    # The nonce keeps every run's RUN step out of any cache; /cgroup tells which daemon ran it.
    (ctx / "Dockerfile").write_text(
        f"FROM {bed.base_image}\n"
        f"RUN echo {unique} >/nonce && uname -m >/arch && cat /proc/self/cgroup >/cgroup\n"
    )
    return ctx


@pytest.fixture
def qemu_builder(bed: Bed, docker_config: Path, unique: str) -> Iterator[str]:
    local = bed["BUILDXPY_BED_DOCKER_HOST"]
    made = bxp("builder", "setup", "--builder", unique, "--platform", THREE, *HOST_NETWORK)
    assert made.returncode == 0, made
    yield unique
    remove_everything(unique, [(local, f"{unique}0")])


def image_file(image: str, platform: str, path: str) -> str:
    return docker("run", "--rm", "--pull", "always", "--platform", platform, image, "cat", path)


def test_qemu_builder_builds_and_pushes_three_platforms_with_an_emulated_run(
    bed: Bed, qemu_builder: str, context: Path, unique: str, tmp_path: Path
) -> None:
    local = bed["BUILDXPY_BED_DOCKER_HOST"]
    assert leftovers(local, f"{unique}0") == {
        f"buildx_buildkit_{unique}0": "running",
        f"buildx_buildkit_{unique}0_state": "volume",
    }
    image = f"{bed.registry}/{unique}:latest"
    built = bxp("build", "--builder", qemu_builder, "--image", f"{bed.registry}/{unique}",
                "--platform", THREE, "-o", str(tmp_path / "dist"), str(context))  # fmt: skip
    assert built.returncode == 0, built
    digest = built.stdout.strip()
    assert digest.startswith("sha256:")
    index = json.loads(docker("buildx", "imagetools", "inspect", image, "--raw"))
    platforms = {
        "/".join(filter(None, (m["platform"]["os"], m["platform"]["architecture"],
                               m["platform"].get("variant"))))
        for m in index["manifests"] if m["platform"]["os"] != "unknown"
    }  # fmt: skip
    assert platforms == set(UNAME)
    for platform, machine in UNAME.items():
        assert image_file(f"{image.rsplit(':', 1)[0]}@{digest}", platform, "/arch").strip() == (
            machine
        )

    stopped = bxp("builder", "stop", qemu_builder)
    assert stopped.returncode == 0, stopped
    assert leftovers(local, f"{unique}0") == {
        f"buildx_buildkit_{unique}0": "exited",
        f"buildx_buildkit_{unique}0_state": "volume",
    }
    removed = bxp("builder", "rm", qemu_builder)
    assert removed.returncode == 0, removed
    assert leftovers(local, f"{unique}0") == {}


def test_rm_keep_state_keeps_only_the_volume(bed: Bed, qemu_builder: str, unique: str) -> None:
    local = bed["BUILDXPY_BED_DOCKER_HOST"]
    removed = bxp("builder", "rm", "--keep-state", qemu_builder)
    assert removed.returncode == 0, removed
    assert leftovers(local, f"{unique}0") == {f"buildx_buildkit_{unique}0_state": "volume"}


def test_two_daemon_builder_builds_each_platform_on_its_own_node(
    bed: Bed, docker_config: Path, context: Path, unique: str, tmp_path: Path
) -> None:
    local, node2 = bed["BUILDXPY_BED_DOCKER_HOST"], bed["BUILDXPY_BED_NODE2_HOST"]
    n1, n2 = f"{unique}a", f"{unique}b"
    try:
        made = bxp(
            "builder", "setup", "--builder", unique, *HOST_NETWORK,
            "--node", f"{n1}={local};platforms=linux/amd64",
            "--node", f"{n2}={node2};platforms=linux/arm64",
        )  # fmt: skip
        assert made.returncode == 0, made
        assert leftovers(node2, n2)[f"buildx_buildkit_{n2}"] == "running"
        image = f"{bed.registry}/{unique}"
        built = bxp("build", "--json", "--report", "--builder", unique, "--image", image,
                    "--platform", "linux/amd64,linux/arm64", "-o", str(tmp_path / "dist"),
                    str(context))  # fmt: skip
        assert built.returncode == 0, built
        result = json.loads(built.stdout)
        nodes = {p["platform"]: p["node"] for p in result["report"]["platforms"]}
        assert nodes == {"linux/amd64": n1, "linux/arm64": n2}
        # BuildKit's own evidence: each RUN step ran in a cgroup nested in the BuildKit container
        # of the node that ran it, named by that container's id on its own daemon.
        ref = f"{image}@{result['digest']}"
        for host, node, platform in ((local, n1, "linux/amd64"), (node2, n2, "linux/arm64")):
            container = docker("-H", host, "inspect", "--format", "{{.Id}}",
                               f"buildx_buildkit_{node}").strip()  # fmt: skip
            assert f"/{container}/buildkit/" in image_file(ref, platform, "/cgroup")
        assert image_file(ref, "linux/arm64", "/arch").strip() == "aarch64"
        removed = bxp("builder", "rm", unique)
        assert removed.returncode == 0, removed
        assert leftovers(local, n1) == {}
        assert leftovers(node2, n2) == {}
    finally:
        remove_everything(unique, [(local, n1), (node2, n2)])


def test_registry_cache_reaches_a_fresh_builder(
    bed: Bed, docker_config: Path, context: Path, unique: str, tmp_path: Path
) -> None:
    local = bed["BUILDXPY_BED_DOCKER_HOST"]
    cache = f"{bed.registry}/{unique}:buildcache"
    image = f"{bed.registry}/{unique}"
    builders = [f"{unique}x", f"{unique}y"]
    try:
        for name in builders:
            made = bxp("builder", "setup", "--builder", name, "--platform", "linux/arm64",
                       *HOST_NETWORK)  # fmt: skip
            assert made.returncode == 0, made
        first = bxp("build", "--builder", builders[0], "--image", image, "--platform",
                    "linux/arm64", "--progress", "plain", "--cache-to",
                    f"type=registry,ref={cache},mode=max", "-o", str(tmp_path / "d1"),
                    str(context))  # fmt: skip
        assert first.returncode == 0, first
        second = bxp("build", "--builder", builders[1], "--image", image, "--platform",
                     "linux/arm64", "--progress", "plain", "--cache-from",
                     f"type=registry,ref={cache}", "-o", str(tmp_path / "d2"),
                     str(context))  # fmt: skip
        assert second.returncode == 0, second
        run_lines = [line for line in second.stderr.splitlines() if "RUN echo" in line]
        assert run_lines, second.stderr
        assert any("CACHED" in line for line in second.stderr.splitlines()), second.stderr
        assert "importing cache manifest from" in second.stderr
    finally:
        for name in builders:
            remove_everything(name, [(local, f"{name}0")])


@pytest.mark.parametrize("command", ["export", "split"])
def test_concurrent_builds_on_a_stopped_builder_boot_it_once(
    bed: Bed, qemu_builder: str, context: Path, unique: str, tmp_path: Path, command: str
) -> None:
    """Three builds at once on a stopped builder used to race to start its BuildKit container
    (`dial unix /run/buildkit/buildkitd.sock: connect: no such file or directory`)."""
    assert bxp("builder", "stop", qemu_builder).returncode == 0
    image = f"{bed.registry}/{unique}"
    if command == "export":
        args = ["export", "--platform", THREE]
    else:
        args = ["build", "--split", "--platform", THREE]
    done = bxp(*args, "--builder", qemu_builder, "--image", image, "-o", str(tmp_path / "out"),
               str(context))  # fmt: skip
    assert done.returncode == 0, done
    assert "buildkitd.sock" not in done.stderr
    if command == "export":
        assert len(list((tmp_path / "out").glob("*.tar"))) == 3
