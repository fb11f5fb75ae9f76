"""A registry reached over plain HTTP off loopback, as a builder's buildkitd configuration allows
(`http = true`): builds, split builds and their merge push to it on a docker-container builder,
and what they pushed is verified through that builder."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import IN_CI, Bed, CliResult, CliRunnerProxy, docker

DOCKERFILE = "ARG BASE\nFROM ${BASE}\nRUN echo built > /built\n"


@pytest.fixture
def http_registry(bed: Bed) -> str:
    address = bed.env.get("BUILDXPY_BED_HTTP_REGISTRY")
    if not address:
        message = "the bed has no HTTP registry off loopback (node2's bridge is missing)"
        if IN_CI:
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)
    return address


def project(path: Path, builder: str, registry: str, *, http: bool) -> Path:
    path.mkdir()
    (path / "Dockerfile").write_text(DOCKERFILE)
    table = f'[builder.buildkitd.registry."{registry}"]\nhttp = true\n' if http else ""
    (path / "buildxpy.toml").write_text(
        f'platforms = ["linux/amd64", "linux/arm64"]\n[builder]\nname = "{builder}"\n'
        f'driver_opts = {{network = "host"}}\n{table}'
    )
    return path


@pytest.fixture
def builders(bed: Bed, docker_config: Path) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for name in made:
        docker("buildx", "rm", "--force", name, check=False)


def events(result: CliResult) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]


def tags(registry: str, repository: str) -> list[str]:
    url = f"http://{registry}/v2/{repository}/tags/list"
    with urllib.request.urlopen(url, timeout=30) as response:
        return sorted(json.load(response)["tags"] or [])


def test_the_builders_http_setting_carries_build_split_merge_and_verification(
    bed: Bed,
    cli: type[CliRunnerProxy],
    http_registry: str,
    tmp_path: Path,
    unique: str,
    builders: list[str],
) -> None:
    base = ["--build-arg", f"BASE={bed.base_image}", "--image", f"{http_registry}/{unique}"]
    # Without `http = true` BuildKit speaks HTTPS to it, and the push fails.
    plain = project(tmp_path / "plain", f"{unique}p", http_registry, http=False)
    builders.append(f"{unique}p")
    assert cli.run("builder", "setup", cwd=plain).returncode == 0
    refused = cli.run("build", *base, "-t", "0", cwd=plain)
    assert refused.returncode == 1
    assert "server gave HTTP response to HTTPS client" in refused.stderr

    configured = project(tmp_path / "http", f"{unique}h", http_registry, http=True)
    builders.append(f"{unique}h")
    made = cli.run("builder", "setup", cwd=configured)
    assert made.returncode == 0, str(made)
    built = cli.run("build", *base, "-t", "1", cwd=configured)
    assert built.returncode == 0, str(built)
    assert any(e["event"] == "verified" for e in events(built)), built.stderr
    # The split: each platform pushed untagged by digest, then merged, all through the builder.
    split = cli.run("build", "--split", *base, "-t", "2", "-o", str(tmp_path / "out"),
                    cwd=configured)  # fmt: skip
    assert split.returncode == 0, str(split)
    merged = [e for e in events(split) if e["event"] == "merged"]
    assert merged, split.stderr
    # One platform by digest: its digest printed and its record written, no tag.
    one = cli.run("build", "--by-digest", *base, "--platform", "linux/arm64", "-o",
                  str(tmp_path / "one"), cwd=configured)  # fmt: skip
    assert one.returncode == 0, str(one)
    record = json.loads((tmp_path / "one" / "digests" / "linux-arm64.json").read_text())
    assert one.stdout.strip() == record["digest"]
    # No per-platform tag is left: only the two asked for and the registry cache's.
    images = [tag for tag in tags(http_registry, unique) if not tag.startswith("buildcache")]
    assert images == ["1", "2"]
    checked = cli.run("verify", f"{http_registry}/{unique}:2", "--platform",
                      "linux/amd64,linux/arm64", "--builder", f"{unique}h", cwd=configured)  # fmt: skip
    assert checked.returncode == 0, str(checked)
    reads = [e["argv"] for e in events(split) if e["event"] == "docker"
             and e["argv"][1:3] == ["buildx", "imagetools"]]  # fmt: skip
    assert reads
    assert all("--builder" in argv for argv in reads)
