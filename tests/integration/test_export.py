from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Bed, cli_env, docker, run_cli

PRINT_ARCH = """\
ARG BASE
FROM ${BASE}
RUN uname -m > /built-on
CMD ["cat", "/built-on"]
"""
SLOW = """\
ARG BASE
FROM ${BASE}
ARG TARGETPLATFORM
RUN echo "slow step for $TARGETPLATFORM" && sleep 30
"""
FAILS_ON_ARM64 = """\
ARG BASE
FROM ${BASE}
ARG TARGETARCH
RUN if [ "$TARGETARCH" = "arm64" ]; then echo "failing on purpose"; false; fi
RUN sleep 30
"""


def build_flags(bed: Bed) -> list[str]:
    flags = ["--builder", "default", "--build-arg", f"BASE={bed.base_image}"]
    if bed.run_network != "default":
        flags += ["--network", bed.run_network]
    return flags


def context_with(tmp_path: Path, dockerfile: str) -> Path:
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(dockerfile)
    return context


@pytest.fixture
def images() -> Iterator[list[str]]:
    """References a test loads into the daemon; removed afterwards."""
    refs: list[str] = []
    yield refs
    if refs:
        docker("image", "rm", "--force", *refs, check=False)


def processes_matching(marker: str) -> list[str]:
    found = subprocess.run(
        ["pgrep", "-a", "-f", marker], capture_output=True, text=True, check=False
    )
    return [line for line in found.stdout.splitlines() if str(os.getpid()) != line.split()[0]]


def test_export_three_platforms_and_load_them(
    bed: Bed, docker_config: Path, unique: str, tmp_path: Path, images: list[str]
) -> None:
    context = context_with(tmp_path, PRINT_ARCH)
    out = tmp_path / "dist"
    expected = {
        "linux/arm64": ("app-linux-arm64.tar", f"{unique}/app:latest-linux-arm64", "aarch64"),
        "linux/amd64": ("app-linux-amd64.tar", f"{unique}/app:latest-linux-amd64", "x86_64"),
        "linux/arm/v7": ("app-linux-arm-v7.tar", f"{unique}/app:latest-linux-arm-v7", "armv7l"),
    }
    images += [tag for _, tag, _ in expected.values()]

    result = run_cli(
        "export", str(context), "--image", f"{unique}/app", "-o", str(out), "--load", "--json",
        "--platform", "linux/arm64/v8,linux/amd64,linux/arm/v7", *build_flags(bed),
    )  # fmt: skip

    assert result.returncode == 0, result
    listed = json.loads(result.stdout)
    assert [item["platform"] for item in listed] == list(expected)
    for item in listed:
        name, tag, machine = expected[item["platform"]]
        path = out / name
        report = item.pop("report")
        assert item == {
            "platform": item["platform"], "path": str(path), "bytes": path.stat().st_size,
            "tags": [tag], "loaded": True,
        }  # fmt: skip
        assert (report["node"], report["native"]) == ("default", machine == "x86_64")
        assert item["bytes"] > 1000
        assert docker("run", "--rm", "--network", "none", tag).strip() == machine
        assert docker("run", "--rm", "--network", "none", tag, "uname", "-m").strip() == machine
    assert sorted(p.name for p in out.iterdir()) == sorted(n for n, _, _ in expected.values())
    for platform, (name, _, _) in expected.items():
        assert platform in result.stderr  # the table
        assert name in result.stderr


def test_single_platform_keeps_the_plain_tag_and_load_prints_it(
    bed: Bed, docker_config: Path, unique: str, tmp_path: Path, images: list[str]
) -> None:
    context = context_with(tmp_path, PRINT_ARCH)
    out = tmp_path / "dist"
    images += [f"{unique}:latest", f"{unique}:1.0"]

    exported = run_cli(
        "export", str(context), "--image", unique, "-t", "latest", "-t", "1.0", "-o", str(out),
        "--platform", "linux/arm/v7", *build_flags(bed),
    )  # fmt: skip
    assert exported.returncode == 0, exported
    tarball = out / f"{unique}-linux-arm-v7.tar"
    assert [p.name for p in out.iterdir()] == [tarball.name]

    loaded = run_cli("load", str(tarball))
    assert loaded.returncode == 0, loaded
    assert sorted(loaded.stdout.split()) == [f"{unique}:1.0", f"{unique}:latest"]
    inspect = json.loads(docker("image", "inspect", "--format", "{{json .}}", f"{unique}:latest"))
    assert (inspect["Os"], inspect["Architecture"], inspect.get("Variant")) == (
        "linux",
        "arm",
        "v7",
    )
    assert docker("run", "--rm", "--network", "none", f"{unique}:1.0").strip() == "armv7l"


def earlier_tarball(out: Path, name: str) -> tuple[Path, bytes, int]:
    out.mkdir(parents=True)
    path = out / name
    path.write_bytes(b"an earlier export")
    os.utime(path, ns=(1_500_000_000_000_000_000, 1_500_000_000_000_000_000))
    return path, path.read_bytes(), path.stat().st_mtime_ns


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_export_leaves_nothing_behind(
    bed: Bed, docker_config: Path, unique: str, tmp_path: Path, signum: signal.Signals
) -> None:
    context = context_with(tmp_path, SLOW)
    out = tmp_path / f"out-{unique}"  # also the marker that finds our docker processes
    earlier, content, mtime = earlier_tarball(out, "app-linux-arm64.tar")
    proc = subprocess.Popen(
        [sys.executable, "-m", "buildxpy", "export", str(context), "--image", "app",
         "-o", str(out), "--platform", "linux/amd64,linux/arm64", *build_flags(bed)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        # Both platforms' buildx processes (client and plugin) started, and the slow step began.
        while len([p for p in processes_matching(str(out)) if "buildx build" in p]) < 4:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(4)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "buildxpy: interrupted" in stderr
    assert "slow step for linux/amd64" in stderr  # stopped in the middle of the 30-second step
    assert list(out.iterdir()) == [earlier]
    assert earlier.read_bytes() == content
    assert earlier.stat().st_mtime_ns == mtime
    assert processes_matching(str(out)) == []


def test_failing_platform_fails_the_export_and_stops_the_others(
    bed: Bed, docker_config: Path, unique: str, tmp_path: Path
) -> None:
    context = context_with(tmp_path, FAILS_ON_ARM64)
    out = tmp_path / f"out-{unique}"
    earlier, content, mtime = earlier_tarball(out, "app-linux-amd64.tar")
    started = time.monotonic()

    result = run_cli(
        "export", str(context), "--image", "app", "-o", str(out),
        "--platform", "linux/amd64,linux/arm64,linux/arm/v7", *build_flags(bed),
    )  # fmt: skip

    assert result.returncode == 1, result
    assert (
        "buildxpy: error: export for linux/arm64 failed: `docker buildx build` exited with 1"
        in (result.stderr)
    )
    assert "[linux/arm64] " in result.stderr  # per-platform progress lines
    # amd64 and arm/v7 were stopped, not left to finish their 30-second step
    assert time.monotonic() - started < 28
    assert list(out.iterdir()) == [earlier]
    assert earlier.read_bytes() == content
    assert earlier.stat().st_mtime_ns == mtime
    assert processes_matching(str(out)) == []


def test_missing_image_is_one_line_before_any_docker_call(
    bed: Bed, docker_config: Path, tmp_path: Path
) -> None:
    # An empty working directory: no buildxpy.toml or pyproject.toml names an image.
    repo = Path(__file__).resolve().parents[2]
    result = run_cli(
        "export", "--platform", "linux/amd64", "-o", str(tmp_path / "dist"),
        cwd=tmp_path, env={"PYTHONPATH": str(repo)},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == (
        "buildxpy: error: no image configured: pass --image, set BUILDXPY_IMAGE, "
        "or set `image` in buildxpy.toml\n"
    )
    assert list(tmp_path.iterdir()) == []
