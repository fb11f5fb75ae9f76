"""rebuild-check on the bed: an image built --reproducible is rebuilt the same on a fresh
docker-container builder, and one whose RUN writes random bytes is named down to that file."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import buildxpy
from tests.integration.conftest import Bed, CliRunnerProxy, docker, run_cli

PLATFORMS = "linux/amd64,linux/arm64,linux/arm/v7"
DOCKERFILE = """\
ARG BASE
FROM ${BASE}
RUN echo built > /built && mkdir -p /var/cache/app && touch /var/cache/app/stamp
"""
RANDOM = "RUN head -c 16 /dev/urandom > /random\n"


def git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=path, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


@pytest.fixture
def project(tmp_path: Path, cli: type[CliRunnerProxy], bed: Bed) -> Path:
    """A checkout whose bases are pinned in buildxpy.lock, committed."""
    path = tmp_path / "project"
    path.mkdir()
    (path / "Dockerfile").write_text(DOCKERFILE)
    git(path, "init", "-q")
    pinned = cli.run("pin", "--build-arg", f"BASE={bed.base_image}", cwd=path)
    assert pinned.returncode == 0, str(pinned)
    git(path, "add", ".")
    git(path, "commit", "-qm", "first")
    return path


@pytest.fixture
def container_builder(bed: Bed, docker_config: Path, unique: str) -> Iterator[str]:
    made = run_cli("builder", "setup", "--builder", unique, "--platform", PLATFORMS,
                   "--driver-opt", "network=host")  # fmt: skip
    assert made.returncode == 0, str(made)
    yield unique
    docker("buildx", "rm", "--force", unique, check=False)


def build(cli: type[CliRunnerProxy], bed: Bed, project: Path, ref: str, builder: str) -> None:
    built = cli.run(
        "build", "--reproducible", "--no-cache", "--no-verify", "-t", ref,
        "--image", ref.rsplit(":", 1)[0], "--platform", PLATFORMS, "--builder", builder,
        "--build-arg", f"BASE={bed.base_image}", cwd=project,
    )  # fmt: skip
    assert built.returncode == 0, str(built)


def leftovers() -> list[str]:
    """Fresh builders, their containers and state volumes still on the engine."""
    names = [
        *docker("buildx", "ls").split(),
        *docker("ps", "-a", "--format", "{{.Names}}").split(),
        *docker("volume", "ls", "--format", "{{.Name}}").split(),
    ]
    return [name for name in names if "-fresh-" in name]


def test_a_reproducible_image_rebuilds_the_same_on_a_fresh_builder(
    bed: Bed, cli: type[CliRunnerProxy], project: Path, unique: str, container_builder: str
) -> None:
    ref = f"{bed.registry}/{unique}:1.0.0"
    build(cli, bed, project, ref, container_builder)
    # The checkout moves on: the commit the image names is checked out beside it.
    (project / "NOTES").write_text("later\n")
    git(project, "add", ".")
    git(project, "commit", "-qm", "later")
    checked = cli.run("rebuild-check", ref, "--build-arg", f"BASE={bed.base_image}",
                      "--driver-opt", "network=host", "--json", cwd=project)  # fmt: skip
    assert checked.returncode == 0, str(checked)
    result = json.loads(checked.stdout)
    assert result["same"] is True
    assert result["revision"] == git(project, "rev-parse", "HEAD~1")
    assert {p["platform"]: p["same"] for p in result["platforms"]} == {
        "linux/amd64": True, "linux/arm64": True, "linux/arm/v7": True,
    }  # fmt: skip
    assert leftovers() == []
    assert len(git(project, "worktree", "list").splitlines()) == 1


def test_a_run_that_writes_random_bytes_is_named(
    bed: Bed, cli: type[CliRunnerProxy], project: Path, unique: str, container_builder: str
) -> None:
    (project / "Dockerfile").write_text(DOCKERFILE + RANDOM)
    git(project, "commit", "-qam", "random")
    ref = f"{bed.registry}/{unique}:2.0.0"
    build(cli, bed, project, ref, container_builder)
    checked = cli.run("rebuild-check", ref, "--build-arg", f"BASE={bed.base_image}",
                      "--driver-opt", "network=host", cwd=project)  # fmt: skip
    assert checked.returncode == 1, str(checked)
    assert (
        f"rebuild-check: {ref} did not rebuild the same: {PLATFORMS.replace(',', ', ')} differ"
        in (checked.stderr)
    )
    out = checked.stdout.splitlines()
    assert [line.split()[:2] for line in out if not line.startswith(" ")] == [
        ["linux/amd64", "differs"], ["linux/arm64", "differs"], ["linux/arm/v7", "differs"],
    ]  # fmt: skip
    # Only the file the RUN wrote differs, in the layer it made (the third: base, built, random).
    named = [line.strip() for line in out if line.startswith("      ")]
    assert named == ["/random (content)"] * 3, checked.stdout
    assert [line.strip().split(":")[0] for line in out if line.startswith("    layer")] == [
        "layer 3"
    ] * 3
    assert leftovers() == []


def test_through_the_python_api(
    bed: Bed, cli: type[CliRunnerProxy], project: Path, unique: str, container_builder: str
) -> None:
    ref = f"{bed.registry}/{unique}:3.0.0"
    build(cli, bed, project, ref, container_builder)
    result = buildxpy.rebuild_check(
        ref, project, platforms=["linux/arm64"], lock=project / "buildxpy.lock",
        build_args={"BASE": bed.base_image}, builder={"driver_opts": {"network": "host"}},
    )  # fmt: skip
    assert result.same
    assert [check.platform for check in result.platforms] == ["linux/arm64"]
    assert result.revision == git(project, "rev-parse", "HEAD")


def test_on_a_builder_of_two_daemons(
    bed: Bed, cli: type[CliRunnerProxy], project: Path, unique: str
) -> None:
    """A multi-node builder, one node a daemon: buildx writes no multi-platform OCI archive from
    it, so each platform is rebuilt on its own, on a fresh builder of fresh nodes."""
    name = f"{unique}mn"
    (project / "buildxpy.toml").write_text(f"""\
[builder]
name = "{name}"
driver_opts = {{network = "host"}}
[[builder.nodes]]
name = "{name}a"
endpoint = "{bed["BUILDXPY_BED_DOCKER_HOST"]}"
platforms = ["linux/amd64"]
[[builder.nodes]]
name = "{name}b"
endpoint = "{bed["BUILDXPY_BED_NODE2_HOST"]}"
platforms = ["linux/arm64"]
""")
    made = cli.run("builder", "setup", cwd=project)
    assert made.returncode == 0, str(made)
    try:
        ref = f"{bed.registry}/{unique}:4.0.0"
        built = cli.run("build", "--reproducible", "--no-verify", "-t", ref, "--image",
                        ref.rsplit(":", 1)[0], "--platform", "linux/amd64,linux/arm64",
                        "--build-arg", f"BASE={bed.base_image}", cwd=project)  # fmt: skip
        assert built.returncode == 0, str(built)
        checked = cli.run("rebuild-check", ref, "--build-arg", f"BASE={bed.base_image}",
                          "--json", cwd=project)  # fmt: skip
        assert checked.returncode == 0, str(checked)
        assert json.loads(checked.stdout)["same"] is True
        assert leftovers() == []
        # The configured builder's own node on the second daemon is untouched.
        node2 = docker("-H", bed["BUILDXPY_BED_NODE2_HOST"], "ps", "--format", "{{.Names}}")
        assert f"buildx_buildkit_{name}b" in node2.split()
    finally:
        cli.run("builder", "rm", name, cwd=project)
