from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from buildxpy import settings
from buildxpy.build_argv import build_argv as spec_argv
from buildxpy.build_spec import spec_from_settings

META = "dist/build-metadata.json"
HEAD = ["buildx", "build", "--builder", "buildxpy", "--platform", "linux/amd64,linux/arm64"]
TAIL = ["--metadata-file", META, "--push", "."]


def build_argv(configured: settings.Settings, **options: Any) -> list[str]:
    return spec_argv(spec_from_settings(configured), **options)


@pytest.fixture(autouse=True)
def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "token.txt").write_text("file-secret\n")
    monkeypatch.setenv("NPM_TOKEN", "env-secret-value")


# fmt: off
CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("defaults", {}, [*HEAD, "-t", "r/app:latest", *TAIL]),
    (
        "builder, platforms, file, target",
        {
            "builder": {"name": "multi"},
            "platforms": ["linux/arm64/v8", "linux/arm/v7", "linux/amd64"],
            "dockerfile": "docker/Dockerfile",
            "target": "prod",
        },
        ["buildx", "build", "--builder", "multi", "--platform",
         "linux/arm64,linux/arm/v7,linux/amd64", "-t", "r/app:latest",
         "-f", "docker/Dockerfile", "--target", "prod", *TAIL],
    ),
    (
        "bare and full tags",
        {"tags": ["v1", "latest", "other.example:5000/x/y:edge"]},
        [*HEAD, "-t", "r/app:v1", "-t", "r/app:latest", "-t", "other.example:5000/x/y:edge", *TAIL],
    ),
    (
        "build args keep order; a bare KEY passes through",
        {"build_args": ["B=2", "A", "C=x=y", "EMPTY="]},
        [*HEAD, "-t", "r/app:latest", "--build-arg", "B=2", "--build-arg", "A",
         "--build-arg", "C=x=y", "--build-arg", "EMPTY=", *TAIL],
    ),
    (
        "labels and secrets",
        {
            "labels": ["org.opencontainers.image.source=https://example.com/app", "team=core"],
            "secrets": ["id=npm,env=NPM_TOKEN", "id=file,src=token.txt"],
        },
        [*HEAD, "-t", "r/app:latest",
         "--label", "org.opencontainers.image.source=https://example.com/app",
         "--label", "team=core",
         "--secret", "id=npm,env=NPM_TOKEN", "--secret", "id=file,src=token.txt", *TAIL],
    ),
    (
        "cache, no-cache, pull",
        {
            "cache_from": ["type=registry,ref=r/app:cache"],
            "cache_to": ["type=registry,ref=r/app:cache,mode=max", "type=inline"],
            "no_cache": True,
            "pull": True,
        },
        [*HEAD, "-t", "r/app:latest",
         "--cache-from", "type=registry,ref=r/app:cache",
         "--cache-to", "type=registry,ref=r/app:cache,mode=max", "--cache-to", "type=inline",
         "--no-cache", "--pull", *TAIL],
    ),
    (
        "attestations, progress, network",
        {"provenance": "false", "sbom": "true", "progress": "plain", "network": "host"},
        [*HEAD, "-t", "r/app:latest", "--provenance=false", "--sbom=true",
         "--network", "host", "--progress", "plain", *TAIL],
    ),
    (
        "no push keeps the result in the build cache",
        {"push": False},
        [*HEAD, "-t", "r/app:latest", "--metadata-file", META, "."],
    ),
    (
        "no push with load",
        {"push": False, "load": True},
        [*HEAD, "-t", "r/app:latest", "--metadata-file", META, "--load", "."],
    ),
    (
        "push and load together",
        {"load": True},
        [*HEAD, "-t", "r/app:latest", "--metadata-file", META, "--push", "--load", "."],
    ),
    (
        "context last",
        {"context": "services/api"},
        [*HEAD, "-t", "r/app:latest", "--metadata-file", META, "--push", "services/api"],
    ),
]
# fmt: on


@pytest.mark.parametrize(
    ("overrides", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_build_argv(overrides: dict[str, Any], expected: list[str]) -> None:
    s = settings.load({"image": "r/app", **overrides})
    assert build_argv(s, metadata_file=META) == expected


def test_load_argument_overrides_the_setting() -> None:
    s = settings.load({"image": "r/app", "push": False, "load": True})
    assert "--load" not in build_argv(s, metadata_file=META, load=False)
    s = settings.load({"image": "r/app", "push": False})
    assert build_argv(s, metadata_file=META, load=True)[-2:] == ["--load", "."]


def test_do_not_push_drops_push(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DO_NOT_PUSH", "1")
    argv = build_argv(settings.load({"image": "r/app"}), metadata_file=META)
    assert "--push" not in argv
    assert argv[-3:] == ["--metadata-file", META, "."]


def test_secret_values_never_reach_argv() -> None:
    s = settings.load(
        {"image": "r/app", "secrets": ["id=npm,env=NPM_TOKEN", "id=file,src=token.txt"]}
    )
    joined = " ".join(build_argv(s, metadata_file=META))
    assert "env-secret-value" not in joined
    assert "file-secret" not in joined
