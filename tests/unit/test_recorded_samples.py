"""Every docker output buildxpy parses, as each supported buildx wrote it on the bed
(`scripts/record-samples`), read by the parser buildxpy uses on it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from buildxpy.builders.boot import parse_boot_failures
from buildxpy.builds.progress import RawJsonRenderer, StepLog
from buildxpy.docker import models as docker_json
from buildxpy.docker.buildx_features import parse_version
from buildxpy.errors import CommandFailed, ImageNotFound
from buildxpy.manifests.registry import registry_failure

RECORDED = Path(__file__).parent.parent / "data" / "recorded"
VERSIONS = sorted(
    m[1]
    for p in RECORDED.glob("buildx-version-v*.txt")
    if (m := re.fullmatch(r"buildx-version-v(.+)\.txt", p.name))
)


def recorded(pattern: str, version: str) -> str:
    return (RECORDED / pattern.format(v=f"v{version}")).read_text()


def test_samples_come_from_the_two_buildx_lines() -> None:
    majors = {tuple(int(x) for x in v.split(".")[:2]) for v in VERSIONS}
    assert (0, 13) in majors
    assert any(minor >= 20 for _, minor in majors), VERSIONS


@pytest.mark.parametrize("version", VERSIONS)
def test_buildx_version_reads_as_the_recorded_version(version: str) -> None:
    text = recorded("buildx-version-{v}.txt", version)
    assert parse_version(text) == tuple(int(x) for x in version.split("."))


@pytest.mark.parametrize("version", VERSIONS)
def test_ls_shows_the_booted_docker_container_builder_once(version: str) -> None:
    builders = docker_json.parse_ls(recorded("buildx-ls-{v}.jsonl", version))
    names = [b.name for b in builders]
    assert names.count("buildxpy-samples") == 1, names
    ours = next(b for b in builders if b.name == "buildxpy-samples")
    assert ours.driver == "docker-container"
    [node] = ours.nodes
    assert node.status == "running"
    assert node.version == "v0.26.3"
    assert {"linux/amd64", "linux/arm64", "linux/arm/v7"} <= set(node.platforms)
    assert "default" in names


def _render(text: str) -> tuple[StepLog, str]:
    log = StepLog(["docker", "buildx", "build", "--progress", "rawjson"])
    renderer = RawJsonRenderer(log)
    # As a pipe delivers it: in chunks that do not respect lines or objects.
    shown = []
    for start in range(0, len(text), 700):
        for line in text[start : start + 700].splitlines(keepends=True):
            shown.append(renderer.feed(line) or "")
    shown.append(renderer.close() or "")
    return log, "".join(shown)


@pytest.mark.parametrize("version", VERSIONS)
def test_rawjson_of_a_two_platform_build_becomes_plain_steps(version: str) -> None:
    log, shown = _render(recorded("buildx-rawjson-{v}-two-platforms.txt", version))
    assert '"vertexes"' not in shown
    runs = [s for s in log.steps.values() if s.name.startswith("[linux/") and " RUN " in s.name]
    assert {s.name.split("]")[0] for s in runs} == {"[linux/amd64 2/2", "[linux/arm64 2/2"}
    assert all(s.seconds > 0 for s in runs), [(s.name, s.runs) for s in runs]
    assert re.search(r"^#\d+ \d+\.\d{3} aarch64$", shown, re.MULTILINE), shown


@pytest.mark.parametrize("version", VERSIONS)
def test_rawjson_of_a_failed_run_names_the_error_in_plain_lines(version: str) -> None:
    log, shown = _render(recorded("buildx-rawjson-{v}-failed-run.txt", version))
    assert '"vertexes"' not in shown
    failed = [s for s in log.steps.values() if s.error]
    assert failed
    # The first platform to fail stops the build: another one's step may be cancelled (137).
    assert any("exit code: 7" in s.error for s in failed)
    assert all("did not complete successfully" in s.error for s in failed)
    assert "failing on purpose" in shown
    assert re.search(r"^#\d+ ERROR: .*exit code: 7", shown, re.MULTILINE), shown


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", ["multi-push", "single-push-provenance"])
def test_metadata_file_gives_the_pushed_digest(version: str, name: str) -> None:
    text = recorded(f"metadata-{{v}}-{name}.json", version)
    meta = docker_json.load_json(docker_json.BuildMetadata, text, what="metadata")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", meta.digest or ""), text
    assert json.loads(text)["containerimage.digest"] == meta.digest


@pytest.mark.parametrize("version", VERSIONS)
def test_imagetools_raw_index_lists_the_built_platforms(version: str) -> None:
    text = recorded("imagetools-raw-{v}-index.json", version)
    index = docker_json.load_json(docker_json.ImageIndex, text, what="index")
    platforms = {f"{m.platform.os}/{m.platform.architecture}" for m in index.images if m.platform}
    assert platforms == {"linux/amd64", "linux/arm64"}
    manifest = recorded("imagetools-raw-{v}-image-manifest.json", version)
    assert docker_json.load_json(docker_json.ImageManifest, manifest, what="manifest").layers


@pytest.mark.parametrize("version", VERSIONS)
def test_imagetools_image_config_names_its_platform(version: str) -> None:
    text = recorded("imagetools-image-config-{v}-amd64.json", version)
    config = docker_json.load_json(docker_json.ImageConfig, text, what="config")
    assert (config.os, config.architecture) == ("linux", "amd64")


def _failed(stderr: str) -> CommandFailed:
    return CommandFailed(["docker", "buildx"], 1, stderr.splitlines())


@pytest.mark.parametrize("version", VERSIONS)
def test_error_messages_buildxpy_matches_are_still_worded_so(version: str) -> None:
    assert 'no builder "buildxpy-samples-nope" found' in recorded(
        "error-{v}-no-builder.txt", version
    )
    flag = recorded("error-{v}-unknown-flag.txt", version)
    assert any("unknown flag: --buildxpy-unknown-flag" in line for line in flag.splitlines())
    missing = _failed(recorded("error-{v}-imagetools-missing.txt", version))
    assert isinstance(registry_failure("127.0.0.1:5000/x:y", missing), ImageNotFound)


@pytest.mark.parametrize("version", VERSIONS)
def test_boot_failure_names_the_node_image_and_cause(version: str) -> None:
    stderr = recorded("error-{v}-bootstrap-missing-image.txt", version)
    [(node, image, error)] = parse_boot_failures(stderr, only_node="buildxpy-samples-bad0")
    assert node == "buildxpy-samples-bad0"
    assert image == "127.0.0.1:5000/buildxpy-samples-nope:missing"
    assert "not found" in error


@pytest.mark.parametrize("name", ["docker-version-engine-*.json", "docker-info-engine-*.json"])
def test_engine_samples_load(name: str) -> None:
    [path] = RECORDED.glob(name)
    model = docker_json.DockerVersion if "version" in name else docker_json.DockerInfo
    loaded = docker_json.load_json(model, path.read_text(), what=name)
    assert loaded is not None
    text = path.read_text()
    assert "26.1" in text
