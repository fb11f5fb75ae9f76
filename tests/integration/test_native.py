"""Native builds on the real bed: the routing plan (the engine's `default` builder, and builders
made of the bed's two daemons, set up without booting), the emulation-cost report of a real
CPU-bound build, per-platform builds by digest, split and merge."""

from __future__ import annotations

import json
import shutil
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Bed, CliResult, after_preflight, docker, run_cli
from tests.integration.test_build import (
    INDEX_TYPES,
    delete_from_registry,
    docker_events,
    events,
    registry_digest,
)

THREE = "linux/amd64,linux/arm64,linux/arm/v7"
# Fails on purpose for the architecture named in the context's `fail-on` file: the context is
# not part of a build's options, so a re-run with the file changed counts as the same build.
SPLIT_DOCKERFILE = """\
ARG BASE
FROM ${BASE}
ARG NONCE
COPY fail-on /fail-on
RUN echo "$NONCE" >/nonce && uname -m >/build-arch \\
    && if [ "$(cat /fail-on)" = "$(uname -m)" ]; then echo "failing on $(uname -m)"; exit 7; fi
CMD ["cat", "/build-arch"]
"""
# A stage that only burns CPU, then one that copies its result: the arm64 half runs under QEMU.
CPU_DOCKERFILE = """\
ARG BASE
FROM ${BASE} AS work
ARG NONCE
RUN echo "$NONCE" >/nonce && i=0; while [ $i -lt 600000 ]; do i=$((i+1)); done; echo counted $i
FROM ${BASE}
COPY --from=work /nonce /nonce
"""


def network_args(bed: Bed) -> list[str]:
    return [] if bed.run_network == "default" else ["--network", bed.run_network]


def buildx_builds(result: CliResult) -> list[list[str]]:
    return [e["argv"] for e in docker_events(result) if e["argv"][1:3] == ["buildx", "build"]]


def registry_index(registry: str, repo_path: str, tag: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://{registry}/v2/{repo_path}/manifests/{tag}",
        headers={"Accept": ", ".join(INDEX_TYPES)},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        body: dict[str, Any] = json.loads(response.read())
        body["digest"] = response.headers["Docker-Content-Digest"]
    return body


def platforms_of(index: dict[str, Any]) -> list[str]:
    out = []
    for entry in index["manifests"]:
        p = entry["platform"]
        if p["os"] != "unknown":
            out.append("/".join(v for v in (p["os"], p["architecture"], p.get("variant")) if v))
    return sorted(out)


def attestations_of(index: dict[str, Any]) -> int:
    return sum(
        1
        for e in index["manifests"]
        if e.get("annotations", {}).get("vnd.docker.reference.type") == "attestation-manifest"
    )


def make_context(path: Path, fail_on: str = "none") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "Dockerfile").write_text(SPLIT_DOCKERFILE)
    (path / "fail-on").write_text(f"{fail_on}\n")
    return path


# --------------------------------------------------------------------------- routing plan


def test_plan_on_the_default_builder_reports_arm64_emulated(bed: Bed, docker_config: Path) -> None:
    result = run_cli(
        "build", "--plan", "--json", "--builder", "default", "--platform", "linux/amd64,linux/arm64"
    )
    assert result.returncode == 0, str(result)
    plan = json.loads(result.stdout)
    arch = docker("info", "--format", "{{.Architecture}}").strip()
    assert arch == "x86_64"  # the bed's engine; the expectations below follow from it
    assert [
        (r["platform"], r["node"], r["node_platform"], r["native"]) for r in plan["routes"]
    ] == [
        ("linux/amd64", "default", "linux/amd64", True),
        ("linux/arm64", "default", "linux/amd64", False),
    ]


def test_require_native_exits_1_before_any_buildx_build(
    bed: Bed, docker_config: Path, tmp_path: Path, unique: str
) -> None:
    context = make_context(tmp_path / "ctx")
    result = run_cli(
        "--log-format", "json", "-v", "build", "--require-native", "--builder", "default",
        "--image", f"{bed.registry}/{unique}", "--platform", "linux/amd64,linux/arm64",
        "--build-arg", f"BASE={bed.base_image}", *network_args(bed), str(context),
    )  # fmt: skip
    assert result.returncode == 1, str(result)
    assert (
        "buildxpy: error: native builds required, but linux/arm64 would be emulated on node "
        "'default' (linux/amd64); no node of builder 'default' runs it natively"
    ) in result.stderr
    # Every docker process, read-only ones included (-v): at most the plan's one question to the
    # engine (answered from buildxpy's state once asked), never a build.
    preflight, calls = after_preflight(docker_events(result))
    # The base image, asked for its platforms unless an earlier build of the run remembers them.
    assert [argv[4] for argv in preflight] in ([], [bed.base_image])
    assert buildx_builds(result) == []
    assert len(calls) <= 1
    assert all(
        e["argv"][1:] == ["--context", "default", "info", "--format", "{{json .}}"] for e in calls
    )
    assert registry_digest(bed.registry, unique, "latest") is None


@pytest.fixture
def two_daemon_builder(bed: Bed, docker_config: Path, unique: str) -> Iterator[str]:
    """A docker-container builder whose nodes are the bed's two daemons (not booted: the BuildKit
    image cannot be pulled here): `a` configured for amd64, `b` (node2) for arm64 and arm/v7."""
    name = f"{unique}mn"
    result = run_cli(
        "builder", "setup", "--builder", name, "--no-bootstrap",
        "--node", f"{name}a={bed['BUILDXPY_BED_DOCKER_HOST']};platforms=linux/amd64",
        "--node", f"{name}b={bed['BUILDXPY_BED_NODE2_HOST']};platforms=linux/arm64,linux/arm/v7",
    )  # fmt: skip
    assert result.returncode == 0, str(result)
    yield name
    run_cli("builder", "rm", name)


def test_multi_node_plan_names_each_node(bed: Bed, two_daemon_builder: str) -> None:
    name = two_daemon_builder
    result = run_cli("build", "--plan", "--json", "--builder", name, "--platform", THREE)
    assert result.returncode == 0, str(result)
    plan = json.loads(result.stdout)
    node2_arch = docker(
        "-H", bed["BUILDXPY_BED_NODE2_HOST"], "info", "--format", "{{.Architecture}}"
    )
    assert node2_arch.strip() == "x86_64"
    assert plan["driver"] == "docker-container"
    assert [(n["name"], n["configured"], n["native"]) for n in plan["nodes"]] == [
        (f"{name}a", ["linux/amd64"], "linux/amd64"),
        (f"{name}b", ["linux/arm64", "linux/arm/v7"], "linux/amd64"),
    ]
    assert [(r["platform"], r["node"], r["native"], r["matched"]) for r in plan["routes"]] == [
        ("linux/amd64", f"{name}a", True, "configured"),
        ("linux/arm64", f"{name}b", False, "configured"),
        ("linux/arm/v7", f"{name}b", False, "configured"),
    ]
    table = run_cli("build", "--plan", "--builder", name, "--platform", THREE)
    rows = [line.split() for line in table.stdout.splitlines()]
    assert [row[:2] for row in rows[1:]] == [
        ["linux/amd64", f"{name}a"], ["linux/arm64", f"{name}b"], ["linux/arm/v7", f"{name}b"],
    ]  # fmt: skip
    refused = run_cli("build", "--plan", "--require-native", "--builder", name, "--platform", THREE)
    assert refused.returncode == 1
    assert f"linux/arm64 would be emulated on node '{name}b' (linux/amd64)" in refused.stderr


def test_multi_node_plan_with_an_unconfigured_node_warns_and_falls_back(
    bed: Bed, docker_config: Path, unique: str
) -> None:
    """Node `a` is given no platforms and comes first: setup gives it its daemon's own, with a
    warning; riscv64 is nobody's configured platform, so buildx would ask the workers, and the plan
    says which nodes it could not ask."""
    name = f"{unique}un"
    setup = run_cli(
        "builder", "setup", "--builder", name, "--no-bootstrap",
        "--node", f"{name}a={bed['BUILDXPY_BED_DOCKER_HOST']}",
        "--node", f"{name}b={bed['BUILDXPY_BED_NODE2_HOST']};platforms=linux/arm64",
    )  # fmt: skip
    try:
        assert setup.returncode == 0, str(setup)
        result = run_cli(
            "--log-format", "json", "build", "--plan", "--json", "--builder", name,
            "--platform", "linux/arm64,linux/riscv64",
        )  # fmt: skip
        assert result.returncode == 0, str(result)
        plan = json.loads(result.stdout)
        assert [(r["platform"], r["node"], r["matched"]) for r in plan["routes"]] == [
            ("linux/arm64", f"{name}b", "configured"),
            ("linux/riscv64", f"{name}a", "first node"),
        ]
        warnings = [e["note"] for e in events(result) if e["event"] == "routing" and "note" in e]
        assert "node has no platforms configured; it is given its daemon's own" in setup.stderr
        assert any(w.startswith(f"not running: {name}a, {name}b") for w in warnings)
    finally:
        run_cli("builder", "rm", name)


# --------------------------------------------------------------------------- report


def test_report_emulated_platform_costs_more_and_adds_up_to_the_wall_time(
    bed: Bed, docker_config: Path, tmp_path: Path, unique: str
) -> None:
    (tmp_path / "Dockerfile").write_text(CPU_DOCKERFILE)
    result = run_cli(
        "--log-format", "json", "build", "--no-push", "--json", "--builder", "default",
        "--image", f"{bed.registry}/{unique}", "--platform", "linux/amd64,linux/arm64",
        "--build-arg", f"BASE={bed.base_image}", "--build-arg", f"NONCE={unique}",
        "-o", str(tmp_path / "out"), *network_args(bed), str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, str(result)
    report = json.loads(result.stdout)["report"]
    amd, arm = report["platforms"]
    assert (amd["platform"], amd["native"], arm["platform"], arm["native"]) == (
        "linux/amd64", True, "linux/arm64", False,
    )  # fmt: skip
    assert arm["wall_s"] > amd["wall_s"]
    assert arm["share_s"] > amd["share_s"]
    [slow] = arm["slowest_emulated_runs"]
    assert slow["stage"] == "work"
    assert slow["name"].startswith("[linux/arm64 work 2/2] RUN echo")
    assert amd["slowest_emulated_runs"] == []
    # The sum: every moment some step ran, split among the platforms (and the shared steps)
    # running one then. It is the build's busy time...
    total = amd["share_s"] + arm["share_s"] + report["shared_s"]
    assert total == pytest.approx(report["busy_s"], abs=0.01)
    # ...and within 10 % of the wall time of the one `docker buildx build` process. buildx's own
    # time outside any step (start-up, session, metadata file) is about 0.45 s on the bed, so the
    # emulated step is long enough (about 7 s) for that to stay well inside the bound.
    [build] = [e for e in docker_events(result) if e["argv"][1:3] == ["buildx", "build"]]
    assert abs(build["duration_s"] - total) <= 0.10 * build["duration_s"], (
        total,
        build["duration_s"],
    )
    assert report["outside_steps_s"] == pytest.approx(
        report["wall_s"] - report["busy_s"], abs=0.002
    )
    shown = [line for line in result.stderr.splitlines() if not line.startswith("{")]
    assert any(line.endswith(" counted 600000") for line in shown)
    assert not any('"vertexes"' in line for line in shown)


# --------------------------------------------------------------------------- by digest, split, merge


@dataclass
class Split:
    repo: str
    path: str
    context: Path
    output_dir: Path
    result: CliResult

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.result.stdout)
        return data


def split_args(bed: Bed, repo: str, context: Path, output_dir: Path, nonce: str) -> list[str]:
    return [
        "--log-format", "json", "build", "--split", "--builder", "default", "--image", repo,
        "-t", "v1", "-t", "latest", "--platform", THREE, "--provenance=mode=min",
        "--label", "org.opencontainers.image.source=https://example.invalid/native",
        "--annotation", "org.opencontainers.image.description=native builds test",
        "--build-arg", f"BASE={bed.base_image}", "--build-arg", f"NONCE={nonce}",
        "-o", str(output_dir), "--json", *network_args(bed), str(context),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def split(
    bed: Bed, docker_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Split]:
    path = f"bxp-split-{uuid.uuid4().hex[:8]}"
    repo = f"{bed.registry}/{path}"
    context = make_context(tmp_path_factory.mktemp("split-ctx"))
    output_dir = tmp_path_factory.mktemp("split-dist")
    result = run_cli(*split_args(bed, repo, context, output_dir, path))
    yield Split(repo, path, context, output_dir, result)
    remove_tags(bed, path, "v1", "latest", "partial")


def remove_tags(bed: Bed, path: str, *tags: str) -> None:
    """The index tags and the per-platform tags the docker driver pushes under."""
    slugs = [p.replace("/", "-") for p in THREE.split(",")]
    for tag in [*tags, *(f"{t}-{s}" for t in tags for s in slugs)]:
        digest = registry_digest(bed.registry, path, tag)
        if digest:
            delete_from_registry(bed.registry, path, digest)


def test_split_index_holds_exactly_the_platforms_with_attestations_tags_and_annotations(
    split: Split, bed: Bed
) -> None:
    assert split.result.returncode == 0, str(split.result)
    index = registry_index(bed.registry, split.path, "v1")
    assert platforms_of(index) == sorted(THREE.split(","))
    assert attestations_of(index) == 3
    # The OCI metadata a plain build puts on its index (title, version), and the build's own.
    assert index["annotations"] == {
        "org.opencontainers.image.source": "https://example.invalid/native",
        "org.opencontainers.image.description": "native builds test",
        "org.opencontainers.image.title": split.path,
        "org.opencontainers.image.version": "v1",
    }
    assert registry_index(bed.registry, split.path, "latest")["digest"] == index["digest"]
    assert split.json["digest"] == index["digest"]
    assert split.json["merge"]["attestations"] == 3
    assert len(buildx_builds(split.result)) == 3


def test_split_records_say_where_each_platform_was_built(split: Split) -> None:
    records = {
        p.name: json.loads(p.read_text())
        for p in (split.output_dir / "digests").glob("linux-*.json")
    }
    assert sorted(records) == ["linux-amd64.json", "linux-arm-v7.json", "linux-arm64.json"]
    assert {(r["platform"], r["node"], r["native"]) for r in records.values()} == {
        ("linux/amd64", "default", True),
        ("linux/arm64", "default", False),
        ("linux/arm/v7", "default", False),
    }
    assert all(r["image"] == split.repo for r in records.values())
    assert not (split.output_dir / "digests" / ".split-pending.json").exists()


def test_split_image_runs_as_each_platform(split: Split) -> None:
    out = docker(
        "run", "--rm", "--pull", "always", "--platform", "linux/arm/v7", f"{split.repo}:v1"
    )
    assert out.strip() == "armv7l"


def test_merge_with_a_missing_record_tags_nothing_and_exits_1(
    split: Split, bed: Bed, tmp_path: Path
) -> None:
    records = tmp_path / "records"
    shutil.copytree(split.output_dir / "digests", records)
    (records / "linux-arm64.json").unlink()
    result = run_cli(
        "merge", "--builder", "default", "--from", str(records), "--platform", THREE,
        "-t", "partial",
    )  # fmt: skip
    assert result.returncode == 1, str(result)
    assert (
        "buildxpy: error: merge refused, nothing was tagged: linux/arm64: no record"
        in result.stderr
    )
    assert result.stdout == ""
    assert registry_digest(bed.registry, split.path, "partial") is None

    allowed = run_cli(
        "merge", "--builder", "default", "--from", str(records), "--platform", THREE,
        "--require", "linux/amd64,linux/arm/v7",
        "-t", "partial", "--json",
    )  # fmt: skip
    assert allowed.returncode == 0, str(allowed)
    merged = json.loads(allowed.stdout)
    assert merged["left_out"] == {"linux/arm64": "no record"}
    assert platforms_of(registry_index(bed.registry, split.path, "partial")) == [
        "linux/amd64", "linux/arm/v7",
    ]  # fmt: skip


def test_merging_the_same_records_again_writes_the_same_index(split: Split) -> None:
    """One `imagetools create` for every tag (the registry reads are read-only, not logged at
    info level); the same sources give the same index."""
    result = run_cli(
        "--log-format", "json", "merge", "--no-verify", "--from", str(split.output_dir / "digests"),
        "--platform", THREE, "-t", "v1", "-t", "latest",
        "--annotation", "org.opencontainers.image.source=https://example.invalid/native",
        "--annotation", "org.opencontainers.image.description=native builds test",
        "--annotation", f"org.opencontainers.image.title={split.path}",
        "--annotation", "org.opencontainers.image.version=v1",
    )  # fmt: skip
    assert result.returncode == 0, str(result)
    assert [e["argv"][1:4] for e in docker_events(result)] == [["buildx", "imagetools", "create"]]
    assert result.stdout.strip() == split.json["digest"]


def test_rerun_after_a_failed_platform_builds_only_that_platform(
    bed: Bed, docker_config: Path, tmp_path: Path, unique: str
) -> None:
    repo = f"{bed.registry}/{unique}"
    context = make_context(tmp_path / "ctx", fail_on="armv7l")
    args = split_args(bed, repo, context, tmp_path / "dist", unique)
    try:
        failed = run_cli(*args)
        assert failed.returncode == 1, str(failed)
        assert (
            "split build failed for linux/arm/v7; records kept for linux/amd64, linux/arm64"
            in failed.stderr
        )
        assert "failing on armv7l" in failed.stderr
        assert len(buildx_builds(failed)) == 3
        assert registry_digest(bed.registry, unique, "v1") is None

        (context / "fail-on").write_text("none\n")
        again = run_cli(*args)
        assert again.returncode == 0, str(again)
        [rebuilt] = buildx_builds(again)
        assert rebuilt[rebuilt.index("--platform") + 1] == "linux/arm/v7"
        assert json.loads(again.stdout)["built"] == ["linux/arm/v7"]
        assert platforms_of(registry_index(bed.registry, unique, "v1")) == sorted(THREE.split(","))
    finally:
        remove_tags(bed, unique, "v1", "latest")


def test_by_digest_prints_the_digest_and_writes_the_record(
    bed: Bed, docker_config: Path, tmp_path: Path, unique: str
) -> None:
    context = make_context(tmp_path / "ctx")
    result = run_cli(
        "build", "--by-digest", "--builder", "default", "--image", f"{bed.registry}/{unique}",
        "--platform", "linux/arm64", "--build-arg", f"BASE={bed.base_image}",
        "-o", str(tmp_path / "dist"), *network_args(bed), str(context),
    )  # fmt: skip
    assert result.returncode == 0, str(result)
    digest = result.stdout.strip()
    record = json.loads((tmp_path / "dist" / "digests" / "linux-arm64.json").read_text())
    assert record == {
        "image": f"{bed.registry}/{unique}", "platform": "linux/arm64", "digest": digest,
        "node": "default", "native": False,
    }  # fmt: skip
    inspected = run_cli("manifest", "inspect", f"{bed.registry}/{unique}@{digest}", "--json")
    assert [m["platform"] for m in json.loads(inspected.stdout)["manifests"]] == ["linux/arm64"]
    remove_tags(bed, unique, "latest")
