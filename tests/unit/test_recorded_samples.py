"""Every docker output buildxpy parses, as each supported buildx wrote it on the bed
(`scripts/record-samples`), read by the parser buildxpy uses on it."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from buildxpy.builders.boot import parse_boot_failures
from buildxpy.builds.progress import RawJsonRenderer, StepLog
from buildxpy.docker import models as docker_json
from buildxpy.docker.buildx_features import parse_version
from buildxpy.errors import CommandFailed, ImageNotFound
from buildxpy.exports.tarballs import image_platform, parse_loaded, platform_of
from buildxpy.manifests.lists import usable_builder
from buildxpy.manifests.registry import parse_raw, platform_entries, registry_failure
from buildxpy.platforms.names import parse
from buildxpy.split.merge import preview
from buildxpy.split.records import DigestRecord
from tests.fakes import FakeRunner

RECORDED = Path(__file__).parent.parent / "data" / "recorded"
VERSIONS = sorted(
    m[1]
    for p in RECORDED.glob("buildx-version-v*.txt")
    if (m := re.fullmatch(r"buildx-version-v(.+)\.txt", p.name))
)
LOADED_TAGS = [
    "buildxpy-samples-loaded:latest-linux-arm-v7",
    "buildxpy-samples-loaded:v1-linux-arm-v7",
]


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


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("name", "builder"), [("current", "default"), ("named", "buildxpy-samples")]
)
def test_inspect_names_the_builder_a_missing_one_falls_back_to(
    version: str, name: str, builder: str
) -> None:
    """The builder's own ``Name:`` line, not its node's (``default``, ``buildxpy-samples0``)."""
    fake = FakeRunner()
    fake.on("buildx", "inspect", stdout=recorded(f"buildx-inspect-{{v}}-{name}.txt", version))
    fake.on("buildx", "inspect", "buildxpy-samples-nope", exit_code=1,
            stderr=recorded("error-{v}-no-builder.txt", version))  # fmt: skip
    assert usable_builder(fake, "buildxpy-samples-nope") == builder
    assert [c.args for c in fake.calls] == [
        ["buildx", "inspect", "buildxpy-samples-nope"], ["buildx", "inspect"],
    ]  # fmt: skip


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


@pytest.mark.parametrize("version", VERSIONS)
def test_create_dry_run_previews_the_index_the_create_pushes(version: str) -> None:
    """amd64 from a lone image, arm64 from an index with its provenance: the preview reads both
    platforms in order, counts the attestation, and its digest is the pushed index's."""
    text = recorded("imagetools-create-{v}-dry-run.json", version)
    index = parse_raw("the merged index", text.removesuffix("\n")).index
    assert index is not None
    entries = platform_entries(index)
    assert [e.platform for e in entries] == ["linux/amd64", "linux/arm64"]
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", e.digest) for e in entries), entries
    records = [
        DigestRecord(image="127.0.0.1:5000/buildxpy-samples", platform=e.platform, digest=e.digest)
        for e in entries
    ]
    fake = FakeRunner().on("buildx", "imagetools", "create", stdout=text)
    planned = preview(fake, records, {})
    [call] = fake.calls
    assert call.args[:4] == ["buildx", "imagetools", "create", "--dry-run"]
    assert planned is not None
    assert planned.attestations == 1
    pushed = recorded("imagetools-create-{v}-pushed.json", version)
    assert planned.digest == "sha256:" + hashlib.sha256(pushed.encode()).hexdigest()
    assert planned.digest == parse_raw("the pushed index", pushed).digest
    # The same platforms in the other order are not what these sources make.
    assert preview(fake, records[::-1], {}) is None


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


def test_context_ls_gives_each_context_its_docker_endpoint() -> None:
    [path] = RECORDED.glob("docker-context-ls-engine-*.jsonl")
    contexts = {c.name: c for c in docker_json.parse_context_ls(path.read_text())}
    assert set(contexts) == {"default", "buildxpy-samples"}
    assert contexts["default"].current
    assert contexts["default"].docker_endpoint == "unix:///var/run/docker.sock"
    ours = contexts["buildxpy-samples"]
    assert not ours.current
    assert re.fullmatch(r"unix:///\S+\.sock", ours.docker_endpoint), ours
    assert ours.error == ""


def _loaded_image() -> tuple[str, docker_json.ImageInspect]:
    [path] = RECORDED.glob("docker-image-inspect-engine-*-linux-arm-v7.json")
    text = path.read_text()
    return text, docker_json.load_json(docker_json.ImageInspect, text, what=path.name)


def test_image_inspect_of_a_loaded_foreign_image_gives_its_platform() -> None:
    """What `export --load` checks a loaded tarball's image against."""
    text, image = _loaded_image()
    assert (image.os, image.architecture, image.variant) == ("linux", "arm", "v7")
    assert platform_of(image) == parse("linux/arm/v7")
    assert image.repo_tags == LOADED_TAGS
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", image.id), image.id
    fake = FakeRunner().on(
        "image", "inspect", "--format", "{{json .}}", LOADED_TAGS[0], stdout=text
    )
    assert image_platform(fake, LOADED_TAGS[0]) == parse("linux/arm/v7")
    assert [c.args for c in fake.calls] == [
        ["image", "inspect", "--format", "{{json .}}", LOADED_TAGS[0]]
    ]


def test_load_output_names_each_tag_or_else_the_image_id() -> None:
    [tagged] = RECORDED.glob("docker-load-engine-*-tagged.txt")
    assert parse_loaded(tagged.read_text()) == LOADED_TAGS
    # The same image from a tarball without names: docker names it by its ID.
    [untagged] = RECORDED.glob("docker-load-engine-*-untagged.txt")
    _, image = _loaded_image()
    assert parse_loaded(untagged.read_text()) == [image.id]
