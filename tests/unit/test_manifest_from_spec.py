from __future__ import annotations

from pathlib import Path

import pytest

from buildxpy.errors import ConfigError
from buildxpy.manifest import manifest_create_from_spec
from tests.fakes import FakeRunner, joined
from tests.unit.test_manifest import AMD64, ARM64, REPO, answer_raw, index_of, sample

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


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


def test_spec_with_one_platform_indexes_passes_them_whole(tmp_path: Path, fake: FakeRunner) -> None:
    answer_raw(fake, f"{REPO}:amd64", index_of(("linux/amd64", AMD64)))
    answer_raw(fake, f"{REPO}:arm64", index_of(("linux/arm64", ARM64)))
    answer_raw(fake, f"{REPO}:1.0", index_of(("linux/amd64", AMD64), ("linux/arm64", ARM64)))
    result = manifest_create_from_spec(write(tmp_path, SPEC), fake)
    assert fake.find("buildx", "imagetools", "create")[0].args == [
        "buildx", "imagetools", "create", "-t", f"{REPO}:1.0", "-t", f"{REPO}:latest",
        f"{REPO}:amd64", f"{REPO}:arm64",
    ]  # fmt: skip
    assert result.refs == [f"{REPO}:1.0", f"{REPO}:latest"]
    assert result.digest is not None


def test_spec_entry_in_a_multi_platform_index_is_pinned_to_its_platform(
    tmp_path: Path, fake: FakeRunner
) -> None:
    both = index_of(("linux/amd64", AMD64), ("linux/arm64", ARM64))
    answer_raw(fake, f"{REPO}:amd64", both)
    answer_raw(fake, f"{REPO}:arm64", both)
    answer_raw(fake, f"{REPO}:1.0", both)
    result = manifest_create_from_spec(write(tmp_path, SPEC), fake)
    assert result.sources == [f"{REPO}@{AMD64}", f"{REPO}@{ARM64}"]


def test_spec_with_plain_manifests_checks_each_config(tmp_path: Path, fake: FakeRunner) -> None:
    spec = SPEC.replace("arm64\n    platform", "amd64b\n    platform")
    answer_raw(fake, f"{REPO}:amd64", sample("imagetools-raw-image-manifest.json"))
    fake.on("buildx", "imagetools", "inspect", f"{REPO}:amd64", "--format",
            stdout=sample("imagetools-image-config-amd64.json"))  # fmt: skip
    answer_raw(fake, f"{REPO}:amd64b", sample("imagetools-raw-image-manifest.json"))
    fake.on("buildx", "imagetools", "inspect", f"{REPO}:amd64b", "--format",
            stdout=sample("imagetools-image-config-amd64.json"))  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        manifest_create_from_spec(write(tmp_path, spec), fake)
    assert str(caught.value) == (
        f"manifests[2]: {REPO}:amd64b is a linux/amd64 image, but the spec says linux/arm64"
    )
    assert fake.find("buildx", "imagetools", "create") == []
    assert fake.find("manifest") == []


def test_spec_mismatch_against_an_index_names_what_it_has(tmp_path: Path, fake: FakeRunner) -> None:
    answer_raw(fake, f"{REPO}:amd64", index_of(("linux/amd64", AMD64)))
    answer_raw(fake, f"{REPO}:arm64", index_of(("linux/amd64", AMD64)))
    with pytest.raises(ConfigError) as caught:
        manifest_create_from_spec(write(tmp_path, SPEC), fake)
    assert str(caught.value) == (
        f"manifests[2]: {REPO}:arm64 has linux/amd64, but the spec says linux/arm64"
    )
    assert joined(fake.calls) == [
        f"buildx imagetools inspect {REPO}:amd64 --raw",
        f"buildx imagetools inspect {REPO}:arm64 --raw",
    ]


def test_spec_entry_without_platform_is_used_unchecked(tmp_path: Path, fake: FakeRunner) -> None:
    answer_raw(fake, f"{REPO}:1.0", index_of(("linux/amd64", AMD64)))
    spec = f"image: {REPO}:1.0\nmanifests:\n  - image: {REPO}:amd64\n"
    result = manifest_create_from_spec(write(tmp_path, spec), fake)
    assert joined(fake.calls) == [
        f"buildx imagetools create -t {REPO}:1.0 {REPO}:amd64",
        f"buildx imagetools inspect {REPO}:1.0 --raw",
    ]
    assert result.sources == [f"{REPO}:amd64"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (SPEC.replace(f"image: {REPO}:1.0", "image: Bad:1"), "invalid spec image 'Bad:1'"),
        (SPEC.replace("[latest]", "['no good']"), "invalid spec tag 'no good'"),
        (SPEC.replace(f"image: {REPO}:arm64", "image: x::y"), "invalid manifests[2] image"),
    ],
)
def test_bad_spec_values_are_refused_before_any_call(
    tmp_path: Path, fake: FakeRunner, spec: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        manifest_create_from_spec(write(tmp_path, spec), fake)
    assert str(caught.value).startswith(message)
    assert fake.calls == []


def test_docker_backend_from_spec_writes_every_tag(tmp_path: Path, fake: FakeRunner) -> None:
    answer_raw(fake, f"{REPO}:amd64", index_of(("linux/amd64", AMD64)))
    answer_raw(fake, f"{REPO}:arm64", index_of(("linux/arm64", ARM64)))
    answer_raw(fake, f"{REPO}:1.0", index_of(("linux/amd64", AMD64), ("linux/arm64", ARM64)))
    manifest_create_from_spec(write(tmp_path, SPEC), fake, backend="docker")
    assert [c.args[-1] for c in fake.find("manifest", "push")] == [
        f"{REPO}:1.0",
        f"{REPO}:latest",
    ]
    for call in fake.find("manifest", "create"):
        assert call.args[-2:] == [f"{REPO}@{AMD64}", f"{REPO}@{ARM64}"]
