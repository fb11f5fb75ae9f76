from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from buildxpy.errors import ConfigError, ImageNotFound, RegistryError
from buildxpy.manifests.lists import manifest_create, manifest_inspect
from buildxpy.manifests.registry import parse_raw, platform_entries
from tests.fakes import FakeRunner, joined

DATA = Path(__file__).parent.parent / "data"
# Recorded from the bed registry; the name is the digest the registry reported for those bytes.
RAW_SAMPLES = {
    "imagetools-raw-index-attestations.json":
        "sha256:911aca1c366c6b2f93c44097a5f747b04ee4c3919869607c1c7916c10a9d541c",
    "imagetools-raw-one-platform-index.json":
        "sha256:8b37db4cbf4ef07893df19f68058d72c36b852110de75014cb0c23d0590d6903",
    "imagetools-raw-image-manifest.json":
        "sha256:369f07b76e9909d6ee4d71d512822f544b6f5a33d55640e50b9a0a2de9092a76",
    "manifest-docker-backend-index.json":
        "sha256:76d0fe5e0840919a3771a0ccb229f9cbbd451ec82a47250e3e2fae6923f0a412",
    "imagetools-raw-docker-list-three-platforms.json":
        "sha256:3ea4b36e203ac1bdb68407335109fcec2fe58b6824570f071256c93a90ef5adf",
}  # fmt: skip
AMD64 = "sha256:369f07b76e9909d6ee4d71d512822f544b6f5a33d55640e50b9a0a2de9092a76"
ARM64 = "sha256:97e778c4c6e86f21c64eb542850b8f82f26290c9b65609da4f3c3756f0ae43f7"
REPO = "127.0.0.1:5000/app"


def sample(name: str) -> str:
    return (DATA / name).read_text()


def index_of(*platforms: tuple[str, str], attest: bool = True) -> str:
    """An index like buildx pushes: each image followed by its attestation manifest."""
    manifests: list[dict[str, object]] = []
    for platform, digest in platforms:
        os_name, arch, *variant = platform.split("/")
        entry = {"os": os_name, "architecture": arch}
        if variant:
            entry["variant"] = variant[0]
        manifests.append(
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
             "size": 476, "platform": entry}
        )  # fmt: skip
        if attest:
            manifests.append(
                {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                 "digest": "sha256:" + hashlib.sha256(digest.encode()).hexdigest(), "size": 565,
                 "annotations": {"vnd.docker.reference.digest": digest,
                                 "vnd.docker.reference.type": "attestation-manifest"},
                 "platform": {"architecture": "unknown", "os": "unknown"}}
            )  # fmt: skip
    return json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": manifests}, indent=2
    )  # fmt: skip


def digest_of(raw: str) -> str:
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()


def answer_raw(fake: FakeRunner, ref: str, raw: str) -> None:
    fake.on("buildx", "imagetools", "inspect", ref, "--raw", stdout=raw)


@pytest.mark.parametrize(("name", "digest"), RAW_SAMPLES.items())
def test_digest_of_recorded_raw_manifest_is_the_registry_digest(name: str, digest: str) -> None:
    assert parse_raw("r/x:y", sample(name)).digest == digest


def test_attestation_manifests_are_left_out_of_a_recorded_index() -> None:
    fetched = parse_raw("r/x:y", sample("imagetools-raw-index-attestations.json"))
    assert fetched.index is not None
    assert len(fetched.index.manifests) == 4
    entries = platform_entries(fetched.index)
    assert [(e.platform, e.digest) for e in entries] == [
        ("linux/amd64", AMD64),
        ("linux/arm64", ARM64),
    ]


def test_docker_manifest_list_with_a_variant() -> None:
    fetched = parse_raw("r", sample("imagetools-raw-docker-list-three-platforms.json"))
    assert fetched.index is not None
    assert fetched.media_type == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert [e.platform for e in platform_entries(fetched.index)] == [
        "linux/amd64",
        "linux/arm64",
        "linux/arm/v7",
    ]


def test_recorded_samples_agree_on_the_amd64_image() -> None:
    one = parse_raw("r", sample("imagetools-raw-one-platform-index.json"))
    docker_backend = parse_raw("r", sample("manifest-docker-backend-index.json"))
    plain = parse_raw("r", sample("imagetools-raw-image-manifest.json"))
    assert one.index is not None
    assert docker_backend.index is not None
    assert [e.digest for e in platform_entries(one.index)] == [plain.digest]
    assert [e.digest for e in platform_entries(docker_backend.index)] == [plain.digest]
    assert not plain.is_index


def test_inspect_index_lists_platforms_without_attestations(fake: FakeRunner) -> None:
    raw = index_of(("linux/amd64", AMD64), ("linux/arm/v7", ARM64))
    answer_raw(fake, f"{REPO}:1", raw)
    info = manifest_inspect(f"{REPO}:1", fake)
    assert info.is_index
    assert info.digest == digest_of(raw)
    assert info.platforms == ["linux/amd64", "linux/arm/v7"]
    assert [m.digest for m in info.manifests] == [AMD64, ARM64]
    assert joined(fake.calls) == [f"buildx imagetools inspect {REPO}:1 --raw"]


def test_inspect_single_manifest_reads_the_platform_from_its_config(fake: FakeRunner) -> None:
    raw = sample("imagetools-raw-image-manifest.json")
    answer_raw(fake, f"{REPO}@{AMD64}", raw)
    fake.on("buildx", "imagetools", "inspect", f"{REPO}@{AMD64}", "--format",
            stdout=sample("imagetools-image-config-amd64.json"))  # fmt: skip
    info = manifest_inspect(f"{REPO}@{AMD64}", fake)
    assert not info.is_index
    assert info.digest == AMD64
    assert [(m.platform, m.digest, m.size) for m in info.manifests] == [
        ("linux/amd64", AMD64, len(raw.encode()))
    ]


def test_inspect_missing_tag_is_image_not_found(fake: FakeRunner) -> None:
    fake.on("buildx", "imagetools", "inspect", exit_code=1,
            stderr=f"ERROR: {REPO}:nope: not found\n")  # fmt: skip
    with pytest.raises(ImageNotFound) as caught:
        manifest_inspect(f"{REPO}:nope", fake)
    assert str(caught.value) == f"{REPO}:nope does not exist in its registry"
    assert caught.value.details == []


def test_inspect_unreachable_registry_says_why_in_one_line(fake: FakeRunner) -> None:
    fake.on("buildx", "imagetools", "inspect", exit_code=1, stderr=(
        'ERROR: failed to do request: Head "http://127.0.0.1:1/v2/x/manifests/y": '
        "dial tcp 127.0.0.1:1: connect: connection refused\n"
    ))  # fmt: skip
    with pytest.raises(RegistryError) as caught:
        manifest_inspect("127.0.0.1:1/x:y", fake)
    assert str(caught.value) == (
        'cannot reach 127.0.0.1:1/x:y: failed to do request: Head "http://127.0.0.1:1/v2/x/'
        'manifests/y": dial tcp 127.0.0.1:1: connect: connection refused'
    )


def test_inspect_malformed_reference_runs_nothing(fake: FakeRunner) -> None:
    with pytest.raises(ConfigError, match="invalid reference 'Bad/Name:1'"):
        manifest_inspect("Bad/Name:1", fake)
    assert fake.calls == []


def test_create_with_imagetools_then_reads_the_digest(fake: FakeRunner) -> None:
    raw = index_of(("linux/amd64", AMD64), ("linux/arm64", ARM64))
    answer_raw(fake, f"{REPO}:1", raw)
    result = manifest_create(f"{REPO}:1", [f"{REPO}:amd64", f"{REPO}:arm64"], fake, verify=False)
    assert joined(fake.calls) == [
        f"buildx imagetools create -t {REPO}:1 {REPO}:amd64 {REPO}:arm64",
        f"buildx imagetools inspect {REPO}:1 --raw",
    ]
    assert result.digest == digest_of(raw)
    assert result.refs == [f"{REPO}:1"]
    assert result.backend == "imagetools"


def test_create_extra_tags_go_in_the_same_call(fake: FakeRunner) -> None:
    answer_raw(fake, f"{REPO}:1", index_of(("linux/amd64", AMD64)))
    result = manifest_create(f"{REPO}:1", [f"{REPO}:amd64"], fake, tags=["latest"], verify=False)
    assert fake.calls[0].args == [
        "buildx", "imagetools", "create", "-t", f"{REPO}:1", "-t", f"{REPO}:latest",
        f"{REPO}:amd64",
    ]  # fmt: skip
    assert result.refs == [f"{REPO}:1", f"{REPO}:latest"]


def test_create_with_docker_backend_expands_index_sources(fake: FakeRunner) -> None:
    answer_raw(fake, f"{REPO}:amd64", index_of(("linux/amd64", AMD64)))
    answer_raw(fake, f"{REPO}:arm64", sample("imagetools-raw-index-attestations.json"))
    created = index_of(("linux/amd64", AMD64), ("linux/arm64", ARM64), attest=False)
    answer_raw(fake, f"{REPO}:1", created)
    result = manifest_create(
        f"{REPO}:1", [f"{REPO}:amd64", f"{REPO}:arm64"], fake, backend="docker", verify=False
    )
    # The second source is a two-platform index whose amd64 image is the first source's.
    assert joined(fake.calls) == [
        f"buildx imagetools inspect {REPO}:amd64 --raw",
        f"buildx imagetools inspect {REPO}:arm64 --raw",
        f"manifest rm {REPO}:1",
        f"manifest create --amend --insecure {REPO}:1 {REPO}@{AMD64} {REPO}@{ARM64}",
        f"manifest push --purge --insecure {REPO}:1",
        f"buildx imagetools inspect {REPO}:1 --raw",
    ]
    assert result.digest == digest_of(created)
    assert result.sources == [f"{REPO}@{AMD64}", f"{REPO}@{ARM64}"]


def test_docker_backend_keeps_tls_for_remote_registries(fake: FakeRunner) -> None:
    answer_raw(fake, "ghcr.io/o/app:amd64", sample("imagetools-raw-image-manifest.json"))
    answer_raw(fake, "ghcr.io/o/app:1", index_of(("linux/amd64", AMD64)))
    manifest_create(
        "ghcr.io/o/app:1", ["ghcr.io/o/app:amd64"], fake, backend="docker", verify=False
    )
    assert fake.find("manifest", "create")[0].args == [
        "manifest", "create", "--amend", "ghcr.io/o/app:1", "ghcr.io/o/app:amd64",
    ]  # fmt: skip
    assert "--insecure" not in fake.find("manifest", "push")[0].args


def test_docker_backend_ignores_a_missing_stale_local_list(fake: FakeRunner) -> None:
    fake.on("manifest", "rm", exit_code=1, stderr=f"No such manifest: {REPO}:1\n")
    answer_raw(fake, f"{REPO}:amd64", sample("imagetools-raw-image-manifest.json"))
    answer_raw(fake, f"{REPO}:1", index_of(("linux/amd64", AMD64)))
    result = manifest_create(f"{REPO}:1", [f"{REPO}:amd64"], fake, backend="docker", verify=False)
    assert result.digest is not None
    assert len(fake.find("manifest", "push")) == 1


def test_create_dry_run_prints_the_call_and_reads_no_digest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = FakeRunner(dry_run=True)
    result = manifest_create(f"{REPO}:1", [f"{REPO}:amd64", f"{REPO}:arm64"], fake, verify=False)
    assert capsys.readouterr().out == (
        f"docker buildx imagetools create -t {REPO}:1 {REPO}:amd64 {REPO}:arm64\n"
    )
    assert fake.calls == []
    assert result.digest is None
    assert result.dry_run


@pytest.mark.parametrize(
    ("ref", "sources", "message"),
    [
        ("r/App:1", ["r/app:a"], "invalid target reference 'r/App:1'"),
        (f"r/app@{AMD64}", ["r/app:a"], "a target is named by a tag, not a digest"),
        ("r/app:1", ["r/app:a", "r/app::b"], "invalid source reference 'r/app::b'"),
        ("r/app:1", [], "manifest create needs at least one source image"),
    ],
)
def test_create_refuses_bad_input_before_any_call(
    fake: FakeRunner, ref: str, sources: list[str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        manifest_create(ref, sources, fake, verify=False)
    assert fake.calls == []


def test_create_failure_names_the_registry_problem(fake: FakeRunner) -> None:
    fake.on("buildx", "imagetools", "create", exit_code=1, stderr=(
        "#1 [internal] pushing 127.0.0.1:1/x:y\n"
        'ERROR: failed to do request: Head "http://127.0.0.1:1/v2/x/blobs/sha256:5ac9": '
        "dial tcp 127.0.0.1:1: connect: connection refused\n"
    ))  # fmt: skip
    with pytest.raises(RegistryError, match=r"^cannot create 127\.0\.0\.1:1/x:y: failed to do"):
        manifest_create("127.0.0.1:1/x:y", [f"{REPO}:amd64"], fake, verify=False)


def test_create_with_missing_source_says_which(fake: FakeRunner) -> None:
    fake.on("buildx", "imagetools", "create", exit_code=1,
            stderr=f"ERROR: {REPO}:gone: not found\n")  # fmt: skip
    with pytest.raises(ImageNotFound) as caught:
        manifest_create(f"{REPO}:1", [f"{REPO}:gone"], fake, verify=False)
    assert str(caught.value) == f"cannot create {REPO}:1: {REPO}:gone: not found"
