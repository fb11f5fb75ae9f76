"""--reproducible on the bed: one source built twice, the second time without the cache, gives the
same image, byte for byte, for every platform."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Bed, CliRunnerProxy, docker, run_cli

DOCKERFILE = """\
ARG BASE
FROM ${BASE}
RUN echo built > /built && mkdir -p /var/cache/app && touch /var/cache/app/stamp
"""


@pytest.fixture
def context(tmp_path: Path) -> Path:
    path = tmp_path / "context"
    path.mkdir()
    (path / "Dockerfile").write_text(DOCKERFILE)
    return path


@pytest.fixture
def container_builder(bed: Bed, docker_config: Path, unique: str) -> Iterator[str]:
    """A docker-container builder (BuildKit in a container, as CI runners use): the docker
    driver's image store cannot take rewritten timestamps."""
    made = run_cli("builder", "setup", "--builder", unique, "--platform",
                   "linux/amd64,linux/arm64", "--driver-opt", "network=host")  # fmt: skip
    assert made.returncode == 0, str(made)
    yield unique
    docker("buildx", "rm", "--force", unique, check=False)


def images(ref: str) -> dict[str, str]:
    """Each platform's image manifest digest, the attestations left out (their provenance
    records when the build ran)."""
    raw = json.loads(docker("buildx", "imagetools", "inspect", "--raw", ref))
    return {
        "{os}/{architecture}".format(**m["platform"]): m["digest"]
        for m in raw["manifests"]
        if m["platform"]["os"] != "unknown"
    }


def build(
    cli: type[CliRunnerProxy], bed: Bed, context: Path, ref: str, builder: str, *extra: str
) -> None:
    result = cli.run(
        "build", "--reproducible", "--no-verify", "-t", ref, "--image", ref.rsplit(":", 1)[0],
        "--platform", "linux/amd64,linux/arm64", "--builder", builder,
        "--build-arg", f"BASE={bed.base_image}", *extra, str(context),
        env={"SOURCE_DATE_EPOCH": "1700000000"}, cwd=context,
    )  # fmt: skip
    assert result.returncode == 0, str(result)


def test_a_reproducible_build_is_the_same_image_twice(
    bed: Bed, cli: type[CliRunnerProxy], context: Path, unique: str, container_builder: str
) -> None:
    # Its base by digest: buildxpy.lock beside the project.
    pinned = cli.run("pin", "--build-arg", f"BASE={bed.base_image}", str(context), cwd=context)
    assert pinned.returncode == 0, str(pinned)
    # The same tag both times: the OCI labels name the version, which is the tag.
    ref = f"{bed.registry}/{unique}:1.0.0"
    build(cli, bed, context, ref, container_builder)
    first = images(ref)
    build(cli, bed, context, ref, container_builder, "--no-cache")
    assert set(first) == {"linux/amd64", "linux/arm64"}
    assert images(ref) == first


def test_without_it_the_images_differ(
    bed: Bed, cli: type[CliRunnerProxy], context: Path, unique: str
) -> None:
    repo = f"{bed.registry}/{unique}"
    network = ["--network", bed.run_network] if bed.run_network != "default" else []
    seen = []
    for extra in ([], ["--no-cache"]):
        result = cli.run(
            "build", "--no-verify", "-t", f"{repo}:1.0.0", "--image", repo,
            "--platform", "linux/amd64,linux/arm64", "--builder", "default",
            "--build-arg", f"BASE={bed.base_image}", *network, *extra, str(context),
        )  # fmt: skip
        assert result.returncode == 0, str(result)
        seen.append(images(f"{repo}:1.0.0"))
    assert seen[0] != seen[1]


def test_floating_bases_are_refused_in_one_line(
    bed: Bed, cli: type[CliRunnerProxy], context: Path, unique: str, container_builder: str
) -> None:
    result = cli.run(
        "build", "--reproducible", "--image", f"{bed.registry}/{unique}", "--builder",
        container_builder, "--build-arg", f"BASE={bed.base_image}", str(context),
        env={"SOURCE_DATE_EPOCH": "1700000000"}, cwd=context,
    )  # fmt: skip
    assert result.returncode == 1, str(result)
    assert result.stderr.strip().splitlines()[-1] == (
        "buildxpy: error: --reproducible needs pinned bases, and there is no "
        f"{context / 'buildxpy.lock'}: run buildxpy pin"
    )


def test_the_docker_driver_is_refused_in_one_line_before_building(
    bed: Bed, cli: type[CliRunnerProxy], context: Path, unique: str
) -> None:
    pinned = cli.run("pin", "--build-arg", f"BASE={bed.base_image}", str(context), cwd=context)
    assert pinned.returncode == 0, str(pinned)
    result = cli.run(
        "build", "--reproducible", "--image", f"{bed.registry}/{unique}", "--builder", "default",
        "--build-arg", f"BASE={bed.base_image}", str(context),
        env={"SOURCE_DATE_EPOCH": "1700000000"}, cwd=context,
    )  # fmt: skip
    assert result.returncode == 1, str(result)
    [line] = result.stderr.strip().splitlines()[-1:]
    assert "builder 'default' runs the docker driver" in line
    assert "use a docker-container builder" in line
