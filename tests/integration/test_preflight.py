"""The preflight of a build against the bed's loopback registry: its base image serves
linux/amd64, linux/arm64 and linux/arm/v7."""

from __future__ import annotations

import contextlib
import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from buildxpy.docker.runner import Runner
from buildxpy.preflight import PreflightFailed, PreflightReport, preflight
from tests.integration.conftest import Bed, CliResult, CliRunnerProxy, docker

HINT = "(pass --no-preflight to build anyway)"
IMAGE_ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


def check(dockerfile: str, *platforms: str, builder: str | None = None) -> PreflightReport:
    return preflight(Runner(), dockerfile_text=dockerfile, platforms=platforms, builder=builder)


def refusal(dockerfile: str, *platforms: str, builder: str | None = None) -> str:
    with pytest.raises(PreflightFailed) as info:
        check(dockerfile, *platforms, builder=builder)
    return str(info.value)


@pytest.mark.parametrize("builder", [None, "default"])
def test_a_base_without_a_target_platform_is_refused(bed: Bed, builder: str | None) -> None:
    dockerfile = f"FROM {bed.base_image}\nRUN true\n"
    message = refusal(dockerfile, "linux/amd64", "linux/ppc64le", builder=builder)
    assert message == f"preflight: {bed.base_image} has no linux/ppc64le {HINT}"


@pytest.mark.parametrize("builder", [None, "default"])
def test_a_base_with_every_target_platform_passes(bed: Bed, builder: str | None) -> None:
    report = check(f"FROM {bed.base_image}\n", "linux/amd64", "linux/arm64", builder=builder)
    assert report.ok
    (verdict,) = report.bases
    assert verdict.ref == bed.base_image
    served = {str(p) for p in verdict.served}
    assert served >= {"linux/amd64", "linux/arm64", "linux/arm/v7"}


def test_a_missing_base_is_named_as_not_found(bed: Bed, unique: str) -> None:
    missing = f"{bed.registry}/{unique}:missing"
    dockerfile = f"FROM {missing} AS gone\nFROM {bed.base_image}\nCOPY --from=gone / /\n"
    assert refusal(dockerfile, "linux/amd64") == f"preflight: {missing} not found {HINT}"


def test_build_args_and_a_build_platform_stage(bed: Bed) -> None:
    dockerfile = (
        "ARG BASE=nothing.invalid/base:1\n"
        "FROM --platform=$BUILDPLATFORM ${BASE} AS build\n"
        "FROM ${BASE}\nCOPY --from=build /bin/busybox /busybox\n"
    )
    report = preflight(
        Runner(), dockerfile_text=dockerfile, platforms=["linux/arm/v7", "linux/arm64"],
        build_args={"BASE": bed.base_image}, build_platform="linux/amd64",
    )  # fmt: skip
    (verdict,) = report.bases
    assert [str(p) for p in verdict.wanted] == ["linux/amd64", "linux/arm/v7", "linux/arm64"]
    assert report.ok


def test_an_unreachable_registry_does_not_stop_the_build(bed: Bed) -> None:
    unreachable = "127.0.0.1:1/nothing:1"  # nothing listens on port 1
    dockerfile = f"FROM {unreachable} AS a\nFROM {bed.base_image}\nCOPY --from=a / /\n"
    with capture_logs() as logs:
        report = check(dockerfile, "linux/amd64")
    assert report.ok
    warning = next(entry for entry in logs if entry["log_level"] == "warning")
    assert warning["base"] == unreachable


def _delete_tag(registry: str, path: str, tag: str) -> None:
    url = f"http://{registry}/v2/{path}/manifests/{tag}"
    head = urllib.request.Request(url, method="HEAD", headers={"Accept": IMAGE_ACCEPT})
    with contextlib.suppress(urllib.error.HTTPError):
        with urllib.request.urlopen(head, timeout=30) as response:  # noqa: S310
            digest = response.headers["Docker-Content-Digest"]
        url = f"http://{registry}/v2/{path}/manifests/{digest}"
        delete = urllib.request.Request(url, method="DELETE")  # noqa: S310
        urllib.request.urlopen(delete, timeout=30).close()  # noqa: S310


@pytest.fixture(scope="module")
def lone_image(
    bed: Bed, docker_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A one-platform linux/arm64 image pushed as a plain manifest (no index)."""
    import uuid

    context = tmp_path_factory.mktemp("preflight-context")
    (context / "Dockerfile").write_text(f"FROM {bed.base_image}\nCOPY hello /hello\n")
    (context / "hello").write_text("hello\n")
    path = f"bxppre{uuid.uuid4().hex[:8]}"
    ref = f"{bed.registry}/{path}:arm64"
    docker("buildx", "build", "--builder", "default", "--platform", "linux/arm64",
           "--provenance=false", "-t", ref, "--push", str(context))  # fmt: skip
    try:
        yield ref
    finally:
        _delete_tag(bed.registry, path, "arm64")
        docker("image", "rm", "--force", ref, check=False)


def test_a_lone_image_is_checked_by_its_config(lone_image: str) -> None:
    report = check(f"FROM {lone_image}\n", "linux/arm64")
    assert report.ok
    assert [str(p) for p in report.bases[0].served] == ["linux/arm64"]
    message = refusal(f"FROM {lone_image}\n", "linux/amd64", "linux/arm64")
    assert message == f"preflight: {lone_image} has no linux/amd64 {HINT}"


def test_buildx_itself_fails_where_preflight_refuses(bed: Bed, tmp_path: Path) -> None:
    """The refusal stands for a build that would fail: the bed's BuildKit finds no image."""
    (tmp_path / "Dockerfile").write_text(f"FROM {bed.base_image}\nRUN true\n")
    argv = ["docker", "buildx", "build", "--builder", "default",
            "--platform", "linux/amd64,linux/ppc64le", str(tmp_path)]  # fmt: skip
    failed = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    assert failed.returncode != 0
    assert "no match for platform in manifest" in failed.stderr


# ---------------------------------------------------------------------- the commands that build


@pytest.fixture
def based_context(bed: Bed, tmp_path: Path) -> Path:
    """A context whose Dockerfile takes its base from a build argument, as users' often do."""
    path = tmp_path / "context"
    path.mkdir()
    (path / "Dockerfile").write_text("ARG BASE=scratch\nFROM ${BASE}\nRUN true\n")
    return path


def _build_cli(bed: Bed, context: Path, *args: str) -> list[str]:
    extra = ["--network", bed.run_network] if bed.run_network != "default" else []
    return [*args, "--build-arg", f"BASE={bed.base_image}", "--builder", "default", *extra,
            str(context)]  # fmt: skip


def _builds_started(result: CliResult) -> list[list[str]]:
    started = []
    for line in result.stderr.splitlines():
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            if event.get("event") == "docker" and "build" in event.get("argv", []):
                started.append(event["argv"])
    return started


@pytest.mark.parametrize(
    "command",
    [["build", "--push"], ["build", "--split"], ["export"]],
    ids=["build", "split", "export"],
)
def test_the_commands_that_build_refuse_before_any_build(
    bed: Bed, cli: type[CliRunnerProxy], based_context: Path, unique: str, tmp_path: Path,
    command: list[str],
) -> None:  # fmt: skip
    result = cli.run(
        "--log-format", "json", *command, "--image", f"{bed.registry}/{unique}",
        "--platform", "linux/amd64,linux/ppc64le", "-o", str(tmp_path / "out"),
        *_build_cli(bed, based_context),
    )  # fmt: skip
    assert result.returncode == 1, str(result)
    assert f"preflight: {bed.base_image} has no linux/ppc64le {HINT}" in result.stderr
    assert _builds_started(result) == []
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_no_preflight_lets_buildx_find_out_for_itself(
    bed: Bed, cli: type[CliRunnerProxy], based_context: Path, unique: str, tmp_path: Path
) -> None:
    result = cli.run(
        "--log-format", "json", "build", "--no-preflight", "--image", f"{bed.registry}/{unique}",
        "--platform", "linux/amd64,linux/ppc64le", "-o", str(tmp_path / "out"),
        *_build_cli(bed, based_context),
    )  # fmt: skip
    assert result.returncode == 1, str(result)
    assert "preflight:" not in result.stderr
    assert len(_builds_started(result)) == 1
    assert "no match for platform" in result.stderr


def test_a_build_whose_bases_have_every_platform_goes_ahead(
    bed: Bed, cli: type[CliRunnerProxy], based_context: Path, unique: str, tmp_path: Path
) -> None:
    result = cli.run(
        "--log-format", "json", "-v", "build", "--no-push", "--image", f"{bed.registry}/{unique}",
        "--platform", "linux/amd64,linux/arm64", "-o", str(tmp_path / "out"),
        *_build_cli(bed, based_context),
    )  # fmt: skip
    assert result.returncode == 0, str(result)
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    [checked] = [e for e in events if e.get("event") == "preflight"]
    assert checked["ok"] is True
    assert checked["bases"] == [bed.base_image]
    assert len(_builds_started(result)) == 1
