from __future__ import annotations

import pytest

from buildxpy.errors import ConfigError
from buildxpy.manifests.registry import (
    Reference,
    docker_manifest_argvs,
    image_config_argv,
    imagetools_create_argv,
    inspect_argv,
    is_loopback,
    parse_reference,
    wants_insecure,
)


@pytest.mark.parametrize(
    ("targets", "sources", "argv"),
    [
        (
            ["r/app:1"],
            ["r/app:amd64", "r/app:arm64"],
            ["buildx", "imagetools", "create", "-t", "r/app:1", "r/app:amd64", "r/app:arm64"],
        ),
        (
            ["r/app:1", "r/app:latest"],
            ["r/app@sha256:" + "a" * 64],
            ["buildx", "imagetools", "create", "-t", "r/app:1", "-t", "r/app:latest",
             "r/app@sha256:" + "a" * 64],
        ),
    ],
)  # fmt: skip
def test_imagetools_create_argv(targets: list[str], sources: list[str], argv: list[str]) -> None:
    assert imagetools_create_argv(targets, sources) == argv


@pytest.mark.parametrize(
    ("insecure", "create", "push"),
    [
        (
            False,
            ["manifest", "create", "--amend", "r/app:1", "r/app:a", "r/app:b"],
            ["manifest", "push", "--purge", "r/app:1"],
        ),
        (
            True,
            ["manifest", "create", "--amend", "--insecure", "r/app:1", "r/app:a", "r/app:b"],
            ["manifest", "push", "--purge", "--insecure", "r/app:1"],
        ),
    ],
)
def test_docker_manifest_argvs(insecure: bool, create: list[str], push: list[str]) -> None:
    assert docker_manifest_argvs("r/app:1", ["r/app:a", "r/app:b"], insecure=insecure) == [
        ["manifest", "rm", "r/app:1"],
        create,
        push,
    ]


def test_inspect_argvs() -> None:
    assert inspect_argv("r/app:1") == ["buildx", "imagetools", "inspect", "r/app:1", "--raw"]
    assert image_config_argv("r/app:1") == [
        "buildx", "imagetools", "inspect", "r/app:1", "--format", "{{json .Image}}",
    ]  # fmt: skip


DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("app", Reference("app")),
        ("app:1.0", Reference("app", "1.0")),
        ("127.0.0.1:5000/team/app:v2", Reference("127.0.0.1:5000/team/app", "v2")),
        (f"localhost:5000/app@{DIGEST}", Reference("localhost:5000/app", None, DIGEST)),
        (f"reg.io/app:1@{DIGEST}", Reference("reg.io/app", "1", DIGEST)),
        ("[::1]:5000/app:x", Reference("[::1]:5000/app", "x")),
    ],
)
def test_parse_reference(text: str, expected: Reference) -> None:
    assert parse_reference(text) == expected
    assert str(parse_reference(text)) == text


@pytest.mark.parametrize(
    "text",
    ["", "App:1", "reg.io/app:", "reg.io//app", "app@sha256:123", "app:-x", "reg io/app", "a:b:c"],
)
def test_malformed_references_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^invalid reference .*expected \[registry"):
        parse_reference(text)


def test_a_target_cannot_be_a_digest() -> None:
    with pytest.raises(ConfigError, match="a target is named by a tag, not a digest"):
        parse_reference(f"r/app@{DIGEST}", what="target", digest_ok=False)


@pytest.mark.parametrize(
    ("ref", "registry"),
    [
        ("app:1", "docker.io"),
        ("team/app:1", "docker.io"),
        ("localhost/app", "localhost"),
        ("localhost:5000/app", "localhost:5000"),
        ("127.0.0.1:5000/app", "127.0.0.1:5000"),
        ("ghcr.io/o/app", "ghcr.io"),
        ("[::1]:5000/app", "[::1]:5000"),
    ],
)
def test_registry_of_a_reference(ref: str, registry: str) -> None:
    assert parse_reference(ref).registry == registry


@pytest.mark.parametrize(
    ("registry", "loopback"),
    [
        ("127.0.0.1:5000", True),
        ("127.1.2.3", True),
        ("localhost:5000", True),
        ("LOCALHOST", True),
        ("[::1]:5000", True),
        ("10.0.0.1:5000", False),
        ("128.0.0.1:5000", False),
        ("docker.io", False),
        ("localhost.example.com:5000", False),
    ],
)
def test_is_loopback(registry: str, loopback: bool) -> None:
    assert is_loopback(registry) is loopback


def test_insecure_only_when_every_registry_is_loopback() -> None:
    local = parse_reference("127.0.0.1:5000/app:1")
    other_local = parse_reference("localhost:5001/app:a")
    remote = parse_reference("ghcr.io/o/app:a")
    assert wants_insecure([local, other_local]) is True
    assert wants_insecure([local, remote]) is False
    assert wants_insecure([parse_reference("app:1")]) is False
