"""`buildxpy manifest` and `buildxpy release` against the bed's loopback registry.

Per-platform images come from plain `docker buildx build --platform X --push` on the engine's
own `default` builder, once without attestations (plain image manifests) and once with provenance
(one-platform indexes that carry an attestation manifest).
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Bed, CliResult, docker, run_cli

INDEX_ACCEPT = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
IMAGE_ACCEPT = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
ATTESTATION = "attestation-manifest"
DOCKERFILE = """\
ARG BASE
FROM ${BASE}
ARG TARGETPLATFORM
LABEL org.example.platform=${TARGETPLATFORM}
COPY hello /hello
"""
ARCHS = ("amd64", "arm64")


@dataclass(frozen=True)
class Images:
    registry: str
    path: str

    @property
    def repo(self) -> str:
        return f"{self.registry}/{self.path}"

    def ref(self, tag: str) -> str:
        return f"{self.repo}:{tag}"


def _request(url: str, method: str, accept: tuple[str, ...] = ()) -> urllib.request.Request:
    headers = {"Accept": ", ".join(accept)} if accept else {}
    return urllib.request.Request(url, method=method, headers=headers)  # noqa: S310


def head_digest(images: Images, tag: str, accept: tuple[str, ...] = INDEX_ACCEPT) -> str | None:
    url = f"http://{images.registry}/v2/{images.path}/manifests/{tag}"
    try:
        with urllib.request.urlopen(_request(url, "HEAD", accept), timeout=30) as response:  # noqa: S310
            return str(response.headers["Docker-Content-Digest"])
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def raw_manifest(images: Images, tag: str) -> dict[str, Any]:
    url = f"http://{images.registry}/v2/{images.path}/manifests/{tag}"
    request = _request(url, "GET", INDEX_ACCEPT + IMAGE_ACCEPT)
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        data: dict[str, Any] = json.load(response)
    return data


def registry_tags(images: Images) -> list[str]:
    url = f"http://{images.registry}/v2/{images.path}/tags/list"
    try:
        with urllib.request.urlopen(_request(url, "GET"), timeout=30) as response:  # noqa: S310
            return list(json.load(response).get("tags") or [])
    except urllib.error.HTTPError:
        return []


def remove_repository(images: Images) -> None:
    """Deleting a manifest by digest drops every tag that points at it."""
    digests = set()
    for tag in registry_tags(images):
        digests.add(head_digest(images, tag, INDEX_ACCEPT + IMAGE_ACCEPT))
    for digest in digests - {None}:
        url = f"http://{images.registry}/v2/{images.path}/manifests/{digest}"
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(_request(url, "DELETE"), timeout=30).close()  # noqa: S310


def push_platform_image(bed: Bed, context: Path, ref: str, arch: str, provenance: bool) -> None:
    args = [
        "buildx", "build", "--builder", "default", "--platform", f"linux/{arch}",
        "--build-arg", f"BASE={bed.base_image}", f"--provenance={str(provenance).lower()}",
        "-t", ref, "--push", str(context),
    ]  # fmt: skip
    docker(*args)


@pytest.fixture(scope="module")
def images(
    bed: Bed, docker_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Images]:
    import uuid

    context = tmp_path_factory.mktemp("manifest-context")
    (context / "Dockerfile").write_text(DOCKERFILE)
    (context / "hello").write_text("hello\n")
    made = Images(bed.registry, f"bxpman{uuid.uuid4().hex[:8]}")
    local = []
    try:
        for arch in ARCHS:
            for tag, provenance in ((arch, False), (f"{arch}-att", True)):
                push_platform_image(bed, context, made.ref(tag), arch, provenance)
                local.append(made.ref(tag))
        yield made
    finally:
        remove_repository(made)
        if local:
            docker("image", "rm", "--force", *local, check=False)


def cli(*args: str, env: dict[str, str] | None = None) -> CliResult:
    # manifest create and release verify what they push; the engine's own builder reads it.
    return run_cli("-q", *args, env={"BUILDXPY_BUILDER": "default", **(env or {})})


def ok(result: CliResult) -> str:
    assert result.returncode == 0, str(result)
    return result.stdout.strip()


def one_error_line(result: CliResult) -> str:
    assert result.returncode == 1, str(result)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, str(result)
    assert lines[0].startswith("buildxpy: error: ")
    return lines[0].removeprefix("buildxpy: error: ")


def inspected(ref: str) -> dict[str, str]:
    info = json.loads(ok(cli("manifest", "inspect", "--json", ref)))
    return {m["platform"]: m["digest"] for m in info["manifests"]}


def attestation_count(images: Images, tag: str) -> int:
    manifests = raw_manifest(images, tag).get("manifests") or []
    return sum(
        1 for m in manifests if (m.get("annotations") or {}).get("vnd.docker.reference.type")
        == ATTESTATION
    )  # fmt: skip


def platform_digest(images: Images, tag: str) -> str | None:
    """The image manifest behind a tag: the tag itself, or the one image in its index."""
    manifests = raw_manifest(images, tag).get("manifests")
    if manifests is None:
        return head_digest(images, tag, IMAGE_ACCEPT)
    (image,) = [m for m in manifests if m["platform"]["os"] != "unknown"]
    return str(image["digest"])


def test_sources_are_what_the_tests_claim(images: Images) -> None:
    for arch in ARCHS:
        assert "manifests" not in raw_manifest(images, arch)
        assert attestation_count(images, f"{arch}-att") == 1


def test_inspect_plain_image_reads_its_config(images: Images) -> None:
    digest = head_digest(images, "arm64", IMAGE_ACCEPT)
    assert inspected(images.ref("arm64")) == {"linux/arm64": digest}


@pytest.mark.parametrize("backend", ["imagetools", "docker"])
@pytest.mark.parametrize("suffix", ["", "-att"])
def test_create_joins_two_platforms(images: Images, backend: str, suffix: str) -> None:
    tag = f"{backend}{suffix or '-plain'}"
    sources = [images.ref(f"{arch}{suffix}") for arch in ARCHS]
    digest = ok(cli("manifest", "create", "--backend", backend, images.ref(tag), *sources))
    assert digest == head_digest(images, tag)
    platforms = inspected(images.ref(tag))
    assert sorted(platforms) == ["linux/amd64", "linux/arm64"]
    for arch in ARCHS:
        assert platforms[f"linux/{arch}"] == platform_digest(images, f"{arch}{suffix}")
    # imagetools carries the sources' attestation manifests over; docker manifest cannot.
    expected = 2 if (suffix and backend == "imagetools") else 0
    assert attestation_count(images, tag) == expected


@pytest.mark.parametrize("suffix", ["", "-att"])
def test_release_points_the_version_at_the_same_index(images: Images, suffix: str) -> None:
    latest, version = f"latest{suffix}", f"v0.2{suffix}"
    sources = [images.ref(f"{arch}{suffix}") for arch in ARCHS]
    ok(cli("manifest", "create", images.ref(latest), *sources))
    env = {"BUILDXPY_IMAGE": images.repo}
    digest = ok(cli("release", version, "--from", latest, env=env))
    assert digest == head_digest(images, latest)
    assert head_digest(images, version) == head_digest(images, latest)
    chained = ok(cli("release", f"v0.3{suffix}", "--from", version, "--image", images.repo))
    assert chained == digest == head_digest(images, f"v0.3{suffix}")
    repeated = run_cli("-v", "--log-format", "json", "release", version, "--from", latest, env=env)
    assert ok(repeated) == digest
    events = [json.loads(line) for line in repeated.stderr.splitlines() if line.startswith("{")]
    assert "already released" in [e["event"] for e in events]
    commands = [e["argv"][1:4] for e in events if e["event"] == "docker"]
    # Read-only: which builder reads the image (none configured here: the current one), then
    # the two tags; nothing is written.
    assert commands == [["buildx", "inspect", "buildxpy"], ["buildx", "inspect"],
                        *[["buildx", "imagetools", "inspect"]] * 2]  # fmt: skip


def test_release_default_source_is_latest_and_dry_run_writes_nothing(images: Images) -> None:
    ok(cli("manifest", "create", images.ref("latest"), images.ref("amd64-att")))
    latest = head_digest(images, "latest")
    shown = ok(cli("--dry-run", "release", "v9", "--image", images.repo))
    assert shown == (
        f"docker buildx imagetools create --builder default -t {images.ref('v9')} "
        f"{images.repo}@{latest}"
    )
    assert head_digest(images, "v9") is None


def spec_text(images: Images, entries: list[tuple[str, str]], target: str = "spec") -> str:
    lines = [f"image: {images.ref(target)}", f"tags: ['{target}-extra']", "manifests:"]
    for tag, arch in entries:
        lines += [
            "  -",
            f"    image: {images.ref(tag)}",
            "    platform:",
            f"      architecture: {arch}",
            "      os: linux",
        ]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("suffix", ["", "-att"])
def test_from_spec_joins_the_declared_platforms(
    images: Images, tmp_path: Path, suffix: str
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(spec_text(images, [(f"{a}{suffix}", a) for a in ARCHS]))
    digest = ok(cli("manifest", "create", "--from-spec", str(spec)))
    assert digest == head_digest(images, "spec") == head_digest(images, "spec-extra")
    assert sorted(inspected(images.ref("spec"))) == ["linux/amd64", "linux/arm64"]


@pytest.mark.parametrize("suffix", ["", "-att"])
def test_from_spec_refuses_a_platform_mismatch(images: Images, tmp_path: Path, suffix: str) -> None:
    spec = tmp_path / "spec.yaml"
    entries = [(f"amd64{suffix}", "amd64"), (f"amd64{suffix}", "arm64")]
    spec.write_text(spec_text(images, entries, target="spec-mismatch"))
    message = one_error_line(cli("manifest", "create", "--from-spec", str(spec)))
    found = "has linux/amd64" if suffix else "is a linux/amd64 image"
    source = images.ref(f"amd64{suffix}")
    assert message == f"manifests[2]: {source} {found}, but the spec says linux/arm64"
    assert head_digest(images, "spec-mismatch") is None


def test_release_of_a_missing_tag_is_one_line(images: Images) -> None:
    message = one_error_line(cli("release", "v1", "--from", "nope", "--image", images.repo))
    assert message == f"{images.ref('nope')} does not exist in its registry"
    assert head_digest(images, "v1") is None


def test_malformed_reference_is_one_line(images: Images) -> None:
    message = one_error_line(cli("manifest", "create", "Bad:Ref", images.ref("amd64")))
    assert message.startswith("invalid target reference 'Bad:Ref'")


def test_missing_source_is_one_line(images: Images) -> None:
    message = one_error_line(
        cli("manifest", "create", images.ref("never"), images.ref("does-not-exist"))
    )
    assert "does-not-exist" in message
    assert head_digest(images, "never") is None


@pytest.mark.parametrize(
    "args",
    [
        ("manifest", "inspect", "127.0.0.1:1/app:1"),
        ("manifest", "create", "127.0.0.1:1/app:1", "127.0.0.1:1/app:amd64"),
        ("manifest", "create", "--backend", "docker", "127.0.0.1:1/app:1", "127.0.0.1:1/app:a"),
        ("release", "v1", "--image", "127.0.0.1:1/app"),
    ],
)
def test_unreachable_registry_is_one_line(images: Images, args: tuple[str, ...]) -> None:
    message = one_error_line(cli(*args))
    assert "127.0.0.1:1" in message
    assert "connection refused" in message
