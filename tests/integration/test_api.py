"""The keyword Python API on the real bed: one test per public function that runs docker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import buildxpy
from tests.integration.conftest import Bed, docker

DOCKERFILE = """\
ARG BASE
FROM ${BASE}
ARG NONCE
RUN echo "$NONCE" >/nonce && uname -m >/build-arch
CMD ["cat", "/build-arch"]
"""


@pytest.fixture
def project(tmp_path: Path, bed: Bed, docker_config: Path) -> Path:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    return tmp_path


def network(bed: Bed) -> str | None:
    return None if bed.run_network == "default" else bed.run_network


@pytest.fixture
def pushed(project: Path, bed: Bed, unique: str) -> buildxpy.BuildResult:
    def push() -> buildxpy.BuildResult:
        return buildxpy.build(
            project,
            image=f"{bed.registry}/{unique}",
            tags=["latest", "1.0"],
            platforms=["linux/amd64", "linux/arm64"],
            push=True,
            output_dir=project / "dist",
            builder="default",
            build_args={"BASE": bed.base_image, "NONCE": unique},
            network=network(bed),
        )

    try:
        return push()
    except buildxpy.CommandFailed:
        # The bed's registry can answer 500 while BuildKit pushes two tags of one index at once
        # (its filesystem driver rewrites a tag's link in place): setup, not what is tested.
        return push()


def test_build_pushes_both_platforms(pushed: buildxpy.BuildResult, bed: Bed) -> None:
    assert pushed.pushed
    assert pushed.digest is not None
    assert pushed.digest.startswith("sha256:")
    # Pushed, so checked: the index, the configs and each platform's entrypoint binary.
    assert pushed.verification is not None
    assert pushed.verification.ok
    assert pushed.verification.digest == pushed.digest
    info = buildxpy.manifest_inspect(pushed.tags[0])
    assert info.digest == pushed.digest
    assert sorted(info.platforms) == ["linux/amd64", "linux/arm64"]


def test_build_without_push_pushes_nothing(project: Path, bed: Bed, unique: str) -> None:
    result = buildxpy.build(
        project,
        image=f"{bed.registry}/{unique}",
        platforms=["linux/arm64"],
        output_dir=project / "dist",
        builder="default",
        build_args={"BASE": bed.base_image, "NONCE": unique},
        network=network(bed),
    )
    assert not result.pushed
    with pytest.raises(buildxpy.ImageNotFound):
        buildxpy.manifest_inspect(f"{bed.registry}/{unique}:latest")


def test_build_refuses_bad_values_before_docker(project: Path) -> None:
    with pytest.raises(buildxpy.ConfigError, match="unknown architecture 'arm65'"):
        buildxpy.build(project, image="r/app", platforms=["linux/arm65"])


def test_release_points_a_version_at_the_same_index(
    pushed: buildxpy.BuildResult, bed: Bed, unique: str
) -> None:
    image = f"{bed.registry}/{unique}"
    released = buildxpy.release("v1.0.0", image=image, builder="default")
    assert released.verification is not None
    assert released.verification.ok
    assert released.digest == pushed.digest
    assert buildxpy.manifest_inspect(f"{image}:v1.0.0").digest == pushed.digest


def test_manifest_create_joins_per_platform_images(
    pushed: buildxpy.BuildResult, bed: Bed, unique: str
) -> None:
    info = buildxpy.manifest_inspect(pushed.tags[0])
    arm64 = next(m for m in info.manifests if m.platform == "linux/arm64")
    target = f"{bed.registry}/{unique}:arm64-only"
    created = buildxpy.manifest_create(
        target, [f"{bed.registry}/{unique}@{arm64.digest}"], builder="default",
        platforms=["linux/arm64"],
    )  # fmt: skip
    assert created.verification is not None
    assert [p.platform for p in created.verification.platforms] == ["linux/arm64"]
    assert created.digest is not None
    assert buildxpy.manifest_inspect(target).platforms == ["linux/arm64"]


def test_export_and_load_tarballs(project: Path, bed: Bed, unique: str) -> None:
    results = buildxpy.export(
        project,
        image=unique,
        platforms=["linux/arm64", "linux/amd64"],
        output_dir=project / "out",
        load=True,
        builder="default",
        build_args={"BASE": bed.base_image, "NONCE": unique},
        network=network(bed),
    )
    assert [(r.platform, r.path.name, r.loaded) for r in results] == [
        ("linux/arm64", f"{unique}-linux-arm64.tar", True),
        ("linux/amd64", f"{unique}-linux-amd64.tar", True),
    ]
    loaded = buildxpy.load_tarballs([results[0].path])
    assert loaded[0].refs == [f"{unique}:latest-linux-arm64"]
    tag = f"{unique}:latest-linux-arm64"
    assert docker("run", "--rm", "--network", "none", tag).strip() == "aarch64"


def test_setup_builder_uses_the_docker_driver_builder_as_it_is(bed: Bed) -> None:
    builder = buildxpy.setup_builder("default", platforms=["linux/amd64", "linux/arm64"])
    assert builder.driver == "docker"
    assert builder.commands == []
    assert "linux/arm64" in builder.emulated


def test_builder_lifecycle(bed: Bed, docker_config: Path, unique: str) -> None:
    made = buildxpy.setup_builder(
        unique, platforms=["linux/amd64"], nodes=[f"{unique}n=default;platforms=linux/amd64"],
        bootstrap=False,
    )  # fmt: skip
    assert [n.name for n in made.nodes] == [f"{unique}n"]
    assert unique in [b.name for b in buildxpy.list_builders_info()]
    assert buildxpy.inspect_builder(unique).nodes[0].platforms == ["linux/amd64"]
    assert buildxpy.use_builder(unique).current
    current = json.loads((docker_config / "buildx" / "current").read_text())
    assert current["Name"] == unique
    buildxpy.stop_builder(unique)
    buildxpy.remove_builder(unique)
    with pytest.raises(buildxpy.BuilderNotFound):
        buildxpy.inspect_builder(unique)


def test_doctor_reports_the_bed_healthy(bed: Bed) -> None:
    report = buildxpy.doctor(["linux/amd64", "linux/arm64"], builder="default")
    assert report.ok, report.checks
    assert {c.name for c in report.checks} >= {"docker", "daemon", "buildx", "emulator"}


def test_qemu_install_finds_the_emulators_registered(bed: Bed) -> None:
    result = buildxpy.qemu_install(["linux/arm64", "linux/arm/v7"])
    assert sorted(result.already) == ["linux/arm/v7", "linux/arm64"]
    assert result.installed == []


def test_login_to_the_auth_registry(bed: Bed, docker_config: Path) -> None:
    registry = bed["BUILDXPY_BED_AUTH_REGISTRY"]
    result = buildxpy.login(
        registry, bed["BUILDXPY_BED_AUTH_USER"], bed["BUILDXPY_BED_AUTH_PASSWORD"]
    )
    assert result.registry == registry
    assert registry in json.loads((docker_config / "config.json").read_text())["auths"]
