"""`manifest create --from-spec`: each entry resolved as manifest-tool resolves it, then one
`buildx imagetools create` (or `docker manifest`) call, against a fake registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildxpy.errors import ConfigError
from buildxpy.manifests.spec import manifest_create_from_spec
from buildxpy.manifests.spec_file import ManifestSpec, SpecEntry, SpecPlatform
from tests.fakes import FakeRunner, joined
from tests.unit.test_manifest import AMD64, ARM64, REPO, answer_raw, index_of, sample
from tests.unit.test_manifest_spec import READ, SPECS

SPEC = f"""\
image: {REPO}:1.0
tags: [latest]
manifests:
  - image: {REPO}:amd64
    platform:
      os: linux
      architecture: amd64
  - image: {REPO}:arm64
    platform:
      os: linux
      architecture: arm64
      variant: v8
"""
PLAIN = sample("imagetools-raw-image-manifest.json")
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
# The collected specs manifest-tool itself refuses, and why (before any registry call).
REFUSED = {
    "test-docker-multiarch.yaml": "manifests[2].platform: unknown architecture 'i386'",
    "jdownloader.yaml": (
        "manifests[4].platform: variant 'v8' is not one manifest-tool accepts for linux/arm "
        "(linux/arm: v5, v6, v7; linux/arm64: v8)"
    ),
    "chrome-webstore-download.yaml": (
        "manifests[2].platform: variant 'v8' is not one manifest-tool accepts for linux/arm "
        "(linux/arm: v5, v6, v7; linux/arm64: v8)"
    ),
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


def answer_image(fake: FakeRunner, ref: str, platform: str, raw: str = PLAIN) -> None:
    """``ref`` is a single-platform image whose config declares ``platform``."""
    os_name, arch, *variant = platform.split("/")
    config = {"os": os_name, "architecture": arch, **({"variant": variant[0]} if variant else {})}
    answer_raw(fake, ref, raw)
    fake.on("buildx", "imagetools", "inspect", ref, "--format", stdout=json.dumps(config))


def image_platform_for(spec_platform: str) -> str:
    # An arm entry without a variant stands for a Raspberry Pi image here: arm/v6.
    return "linux/arm/v6" if spec_platform == "linux/arm" else spec_platform


# --------------------------------------------------------------------------- the collected specs


@pytest.mark.parametrize("name", sorted(set(READ) - set(REFUSED)))
def test_collected_spec_makes_one_index_of_its_images_and_tags(name: str, fake: FakeRunner) -> None:
    image, tags, entries = READ[name]
    for ref, platform in entries:
        answer_image(fake, ref, image_platform_for(platform))
    answer_raw(fake, image, index_of(("linux/amd64", AMD64)))
    result = manifest_create_from_spec(SPECS / name, fake, verify=False)
    repository = image.rpartition(":")[0]
    # A tag that is the image's own is written once.
    targets = list(dict.fromkeys([image, *(f"{repository}:{t}" for t in tags)]))
    (create,) = fake.find("buildx", "imagetools", "create")
    annotations = create.args[3 + 2 * len(targets) : len(create.args) - len(entries)]
    assert create.args[: 3 + 2 * len(targets)] == [
        "buildx", "imagetools", "create", *(a for t in targets for a in ("-t", t)),
    ]  # fmt: skip
    assert create.args[len(create.args) - len(entries) :] == [ref for ref, _ in entries]
    assert annotations == (
        [
            "--annotation", "index:org.opencontainers.image.title=My Image Title",
            "--annotation", "index:org.opencontainers.image.description=My image description.",
            "--annotation", "index:org.opencontainers.image.authors=Fred Flintstone",
            "--annotation",
            "index:org.opencontainers.image.source=https://github.com/estesp/manifest-tool",
            "--annotation", "index:org.opencontainers.image.licenses=Apache-2.0",
        ]
        if name == "manifest-tool-test-registry.yml"
        else []
    )  # fmt: skip
    assert result.refs == targets


@pytest.mark.parametrize(("name", "message"), sorted(REFUSED.items()))
def test_collected_spec_manifest_tool_refuses_is_refused_before_any_call(
    name: str, message: str, fake: FakeRunner
) -> None:
    with pytest.raises(ConfigError) as caught:
        manifest_create_from_spec(SPECS / name, fake, verify=False)
    assert str(caught.value) == message
    assert fake.calls == []


def test_drone_tags_keep_their_text(fake: FakeRunner) -> None:
    _, _, entries = READ["drone-docker.yaml"]
    for ref, platform in entries:
        answer_image(fake, ref, platform)
    answer_raw(fake, "plugins/docker:20.10.9", index_of(("linux/amd64", AMD64)))
    result = manifest_create_from_spec(SPECS / "drone-docker.yaml", fake, verify=False)
    assert result.refs == ["plugins/docker:20.10.9", "plugins/docker:20", "plugins/docker:20.10"]


# --------------------------------------------------------------------------- platforms


def test_arm_without_variant_takes_the_variant_of_the_image(
    tmp_path: Path, fake: FakeRunner
) -> None:
    spec = f"image: {REPO}:1\nmanifests:\n  - image: {REPO}:arm\n    platform:\n      os: linux\n      architecture: arm\n"
    answer_image(fake, f"{REPO}:arm", "linux/arm/v6")
    answer_raw(fake, f"{REPO}:1", index_of(("linux/arm/v6", ARM64)))
    result = manifest_create_from_spec(write(tmp_path, spec), fake, verify=False)
    assert result.sources == [f"{REPO}:arm"]


def test_a_declared_variant_must_be_the_variant_of_the_image(
    tmp_path: Path, fake: FakeRunner
) -> None:
    spec = (
        f"image: {REPO}:1\nmanifests:\n  - image: {REPO}:arm\n"
        "    platform: {os: linux, architecture: arm, variant: v7}\n"
    )
    answer_image(fake, f"{REPO}:arm", "linux/arm/v6")
    with pytest.raises(ConfigError) as caught:
        manifest_create_from_spec(write(tmp_path, spec), fake, verify=False)
    assert str(caught.value) == (
        f"manifests[1]: {REPO}:arm is a linux/arm/v6 image, but the spec says linux/arm/v7"
    )
    assert fake.find("buildx", "imagetools", "create") == []


def test_spec_with_plain_manifests_checks_each_config(tmp_path: Path, fake: FakeRunner) -> None:
    spec = SPEC.replace("arm64\n    platform", "amd64b\n    platform")
    answer_raw(fake, f"{REPO}:amd64", PLAIN)
    fake.on("buildx", "imagetools", "inspect", f"{REPO}:amd64", "--format",
            stdout=sample("imagetools-image-config-amd64.json"))  # fmt: skip
    answer_raw(fake, f"{REPO}:amd64b", PLAIN)
    fake.on("buildx", "imagetools", "inspect", f"{REPO}:amd64b", "--format",
            stdout=sample("imagetools-image-config-amd64.json"))  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        manifest_create_from_spec(write(tmp_path, spec), fake, verify=False)
    assert str(caught.value) == (
        f"manifests[2]: {REPO}:amd64b is a linux/amd64 image, but the spec says linux/arm64"
    )
    assert fake.find("buildx", "imagetools", "create") == []
    assert fake.find("manifest") == []


def test_entry_without_platform_is_the_platform_of_its_image(
    tmp_path: Path, fake: FakeRunner
) -> None:
    answer_image(fake, f"{REPO}:amd64", "linux/amd64")
    answer_raw(fake, f"{REPO}:1.0", index_of(("linux/amd64", AMD64)))
    spec = f"image: {REPO}:1.0\nmanifests:\n  - image: {REPO}:amd64\n"
    result = manifest_create_from_spec(write(tmp_path, spec), fake, verify=False)
    assert joined(fake.calls) == [
        f"buildx imagetools inspect {REPO}:amd64 --raw",
        f"buildx imagetools inspect {REPO}:amd64 --format {{{{json .Image}}}}",
        f"buildx imagetools create -t {REPO}:1.0 {REPO}:amd64",
        f"buildx imagetools inspect {REPO}:1.0 --raw",
    ]
    assert result.sources == [f"{REPO}:amd64"]


def test_spec_with_one_platform_indexes_passes_them_whole(tmp_path: Path, fake: FakeRunner) -> None:
    answer_raw(fake, f"{REPO}:amd64", index_of(("linux/amd64", AMD64)))
    answer_raw(fake, f"{REPO}:arm64", index_of(("linux/arm64", ARM64)))
    answer_raw(fake, f"{REPO}:1.0", index_of(("linux/amd64", AMD64), ("linux/arm64", ARM64)))
    result = manifest_create_from_spec(write(tmp_path, SPEC), fake, verify=False)
    assert fake.find("buildx", "imagetools", "create")[0].args == [
        "buildx", "imagetools", "create", "-t", f"{REPO}:1.0", "-t", f"{REPO}:latest",
        f"{REPO}:amd64", f"{REPO}:arm64",
    ]  # fmt: skip
    assert result.refs == [f"{REPO}:1.0", f"{REPO}:latest"]
    assert result.digest is not None


def test_an_index_source_brings_all_of_its_images(tmp_path: Path, fake: FakeRunner) -> None:
    spec = (
        f"image: {REPO}:1.0\nmanifests:\n"
        f"  - image: {REPO}:linux\n    platform: {{os: linux, architecture: amd64}}\n"
        f"  - image: {REPO}:arm\n    platform: {{os: linux, architecture: arm, variant: v7}}\n"
    )
    answer_raw(fake, f"{REPO}:linux", index_of(("linux/amd64", AMD64), ("linux/arm64", ARM64)))
    answer_image(fake, f"{REPO}:arm", "linux/arm/v7")
    answer_raw(fake, f"{REPO}:1.0", index_of(("linux/amd64", AMD64)))
    result = manifest_create_from_spec(write(tmp_path, spec), fake, verify=False)
    assert result.sources == [f"{REPO}:linux", f"{REPO}:arm"]


def test_two_entries_bringing_one_platform_are_refused(tmp_path: Path, fake: FakeRunner) -> None:
    both = index_of(("linux/amd64", AMD64), ("linux/arm64", ARM64))
    answer_raw(fake, f"{REPO}:amd64", both)
    answer_raw(fake, f"{REPO}:arm64", both)
    with pytest.raises(ConfigError) as caught:
        manifest_create_from_spec(write(tmp_path, SPEC), fake, verify=False)
    assert str(caught.value) == (
        f"manifests[2]: {REPO}:arm64 provides linux/amd64, as manifests[1] ({REPO}:amd64) "
        "already does; an index lists one image per platform"
    )
    assert fake.find("buildx", "imagetools", "create") == []


def test_two_plain_images_of_one_platform_are_refused(tmp_path: Path, fake: FakeRunner) -> None:
    spec = f"image: {REPO}:1\nmanifests:\n  - image: {REPO}:a\n  - image: {REPO}:b\n"
    answer_image(fake, f"{REPO}:a", "linux/amd64")
    answer_image(fake, f"{REPO}:b", "linux/amd64")
    with pytest.raises(ConfigError, match=r"manifests\[2\]: .*:b provides linux/amd64, as"):
        manifest_create_from_spec(write(tmp_path, spec), fake, verify=False)


def test_windows_releases_of_one_platform_are_told_apart_by_os_version(
    tmp_path: Path, fake: FakeRunner
) -> None:
    def windows_index(version: str, digest: str) -> str:
        body = json.loads(index_of(("windows/amd64", digest), attest=False))
        body["manifests"][0]["platform"]["os.version"] = version
        return json.dumps(body)

    spec = (
        f"image: {REPO}:1\nmanifests:\n"
        f"  - image: {REPO}:1809\n    platform: {{os: windows, architecture: amd64}}\n"
        f"  - image: {REPO}:ltsc2022\n    platform: {{os: windows, architecture: amd64}}\n"
    )
    answer_raw(fake, f"{REPO}:1809", windows_index("10.0.17763.5933", AMD64))
    answer_raw(fake, f"{REPO}:ltsc2022", windows_index("10.0.20348.2527", ARM64))
    answer_raw(fake, f"{REPO}:1", index_of(("linux/amd64", AMD64)))
    result = manifest_create_from_spec(write(tmp_path, spec), fake, verify=False)
    assert result.sources == [f"{REPO}:1809", f"{REPO}:ltsc2022"]


def test_spec_mismatch_against_an_index_names_what_it_has(tmp_path: Path, fake: FakeRunner) -> None:
    answer_raw(fake, f"{REPO}:amd64", index_of(("linux/amd64", AMD64)))
    answer_raw(fake, f"{REPO}:arm64", index_of(("linux/amd64", AMD64)))
    with pytest.raises(ConfigError) as caught:
        manifest_create_from_spec(write(tmp_path, SPEC), fake, verify=False)
    assert str(caught.value) == (
        f"manifests[2]: {REPO}:arm64 has linux/amd64, but the spec says linux/arm64"
    )
    assert joined(fake.calls) == [
        f"buildx imagetools inspect {REPO}:amd64 --raw",
        f"buildx imagetools inspect {REPO}:arm64 --raw",
    ]


# --------------------------------------------------------------------------- annotations


ANNOTATED = f"""\
image: {REPO}:1
annotations:
  org.opencontainers.image.title: My Image Title
  org.example.release: 1.10
manifests:
  - image: {REPO}:amd64
"""


def test_annotations_go_on_the_index(tmp_path: Path, fake: FakeRunner) -> None:
    answer_image(fake, f"{REPO}:amd64", "linux/amd64")
    answer_raw(fake, f"{REPO}:1", index_of(("linux/amd64", AMD64)))
    manifest_create_from_spec(write(tmp_path, ANNOTATED), fake, verify=False)
    assert fake.find("buildx", "imagetools", "create")[0].args == [
        "buildx", "imagetools", "create", "-t", f"{REPO}:1",
        "--annotation", "index:org.opencontainers.image.title=My Image Title",
        "--annotation", "index:org.example.release=1.10",
        f"{REPO}:amd64",
    ]  # fmt: skip


def test_annotations_with_the_docker_backend_are_refused_before_any_call(
    tmp_path: Path, fake: FakeRunner
) -> None:
    with pytest.raises(ConfigError) as caught:
        manifest_create_from_spec(write(tmp_path, ANNOTATED), fake, backend="docker", verify=False)
    assert str(caught.value) == (
        "the spec has annotations, which docker manifest cannot write; use the imagetools backend"
    )
    assert fake.calls == []


def test_annotations_over_docker_v2_images_are_refused(tmp_path: Path, fake: FakeRunner) -> None:
    docker_v2 = json.dumps({**json.loads(PLAIN), "mediaType": DOCKER_V2})
    answer_image(fake, f"{REPO}:amd64", "linux/amd64", raw=docker_v2)
    with pytest.raises(ConfigError, match="every image is a Docker v2 manifest"):
        manifest_create_from_spec(write(tmp_path, ANNOTATED), fake, verify=False)
    assert fake.find("buildx", "imagetools", "create") == []


def test_annotation_key_buildx_cannot_pass_is_refused(tmp_path: Path, fake: FakeRunner) -> None:
    spec = ANNOTATED.replace("org.example.release", "'a=b'")
    with pytest.raises(ConfigError) as caught:
        manifest_create_from_spec(write(tmp_path, spec), fake, verify=False)
    assert str(caught.value) == "annotations: 'a=b' cannot be an annotation key"
    assert fake.calls == []


# --------------------------------------------------------------------------- refused up front


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (SPEC.replace(f"image: {REPO}:1.0", "image: Bad:1"), "invalid spec image 'Bad:1'"),
        (SPEC.replace(f"image: {REPO}:1.0", "image: ~"), "invalid spec image ''"),
        (SPEC.replace("[latest]", "['no good']"), "invalid spec tag 'no good'"),
        (SPEC.replace(f"image: {REPO}:arm64", "image: x::y"), "invalid manifests[2] image"),
        (f"image: {REPO}:1\nmanifests: []\n", "the spec lists no manifests"),
        (SPEC.replace("architecture: arm64", "architecture: aarch64"),
         "manifests[2].platform: unknown architecture 'aarch64'"),
        (SPEC.replace("os: linux\n      architecture: arm64", "os: Linux\n      architecture: arm64"),
         "manifests[2].platform: unknown os 'Linux'"),
        (SPEC.replace("      os: linux\n      architecture: arm64\n", "      architecture: arm64\n"),
         "manifests[2].platform: give both os and architecture, or neither"),
        (SPEC.replace("variant: v8", "variant: v9"),
         "manifests[2].platform: variant 'v9' is not one manifest-tool accepts for linux/arm64"),
    ],
)  # fmt: skip
def test_bad_spec_values_are_refused_before_any_call(
    tmp_path: Path, fake: FakeRunner, spec: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        manifest_create_from_spec(write(tmp_path, spec), fake, verify=False)
    assert str(caught.value).startswith(message)
    assert fake.calls == []


def test_a_spec_built_in_python(fake: FakeRunner) -> None:
    spec = ManifestSpec(
        image=f"{REPO}:1",
        tags=["1.10"],
        manifests=[
            SpecEntry(
                image=f"{REPO}:amd64", platform=SpecPlatform(os="linux", architecture="amd64")
            )
        ],
    )
    answer_image(fake, f"{REPO}:amd64", "linux/amd64")
    answer_raw(fake, f"{REPO}:1", index_of(("linux/amd64", AMD64)))
    assert manifest_create_from_spec(spec, fake, verify=False).refs == [f"{REPO}:1", f"{REPO}:1.10"]


def test_docker_backend_from_spec_writes_every_tag(tmp_path: Path, fake: FakeRunner) -> None:
    answer_raw(fake, f"{REPO}:amd64", index_of(("linux/amd64", AMD64)))
    answer_raw(fake, f"{REPO}:arm64", index_of(("linux/arm64", ARM64)))
    answer_raw(fake, f"{REPO}:1.0", index_of(("linux/amd64", AMD64), ("linux/arm64", ARM64)))
    manifest_create_from_spec(write(tmp_path, SPEC), fake, backend="docker", verify=False)
    assert [c.args[-1] for c in fake.find("manifest", "push")] == [
        f"{REPO}:1.0",
        f"{REPO}:latest",
    ]
    for call in fake.find("manifest", "create"):
        assert call.args[-2:] == [f"{REPO}@{AMD64}", f"{REPO}@{ARM64}"]
