from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from buildxpy.builds.argv import build_argv as spec_argv
from buildxpy.builds.argv import export_argv
from buildxpy.builds.cache import DefaultCache, cache_flags
from buildxpy.errors import ConfigError
from buildxpy.platforms.names import parse
from buildxpy.settings import model as settings
from buildxpy.settings.handoff import spec_from_settings

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


# ------------------------------------------------------------- build inputs passed through

BASE = [*HEAD, "-t", "r/app:latest"]

# fmt: off
INPUT_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "ssh, build contexts, attestations",
        {
            "ssh": ["default", "deploy=/keys/id_ed25519,/keys/id_rsa"],
            "build_contexts": {"base": "docker-image://alpine:3.20", "assets": "./assets"},
            "attests": ["type=sbom,generator=docker/buildkit-syft-scanner", "type=provenance,mode=max"],
        },
        [*BASE,
         "--ssh", "default", "--ssh", "deploy=/keys/id_ed25519,/keys/id_rsa",
         "--attest", "type=sbom,generator=docker/buildkit-syft-scanner",
         "--attest", "type=provenance,mode=max",
         "--build-context", "base=docker-image://alpine:3.20",
         "--build-context", "assets=./assets", *TAIL],
    ),
    (
        "annotations at each level, platform-scoped too",
        {"annotations": ["org.example.team=core", "index:org.opencontainers.image.description=a, b",
                         "manifest[linux/arm64]:org.example.arch=arm"]},
        [*BASE,
         "--annotation", "org.example.team=core",
         "--annotation", "index:org.opencontainers.image.description=a, b",
         "--annotation", "manifest[linux/arm64]:org.example.arch=arm", *TAIL],
    ),
    (
        "call, no-cache-filter, hosts, entitlements, shm, ulimits",
        {
            "call": "check",
            "no_cache_filters": ["deps", "test"],
            "add_hosts": ["db.internal:10.0.0.5", "api=10.0.0.6"],
            "allow": ["network.host", "security.insecure"],
            "shm_size": "2g",
            "ulimits": ["nofile=1024:2048", "nproc=512"],
        },
        [*BASE,
         "--no-cache-filter", "deps", "--no-cache-filter", "test",
         "--add-host", "db.internal:10.0.0.5", "--add-host", "api=10.0.0.6",
         "--allow", "network.host", "--allow", "security.insecure",
         "--ulimit", "nofile=1024:2048", "--ulimit", "nproc=512",
         "--shm-size", "2g", "--call=check", *TAIL],
    ),
    (
        "secret envs become env secrets, after the explicit ones",
        {"secrets": ["id=file,src=token.txt"], "secret_envs": {"npm": "NPM_TOKEN", "gh": "GH_TOKEN"}},
        [*BASE,
         "--secret", "id=file,src=token.txt",
         "--secret", "id=npm,env=NPM_TOKEN", "--secret", "id=gh,env=GH_TOKEN", *TAIL],
    ),
]
# fmt: on


@pytest.mark.parametrize(
    ("overrides", "expected"), [c[1:] for c in INPUT_CASES], ids=[c[0] for c in INPUT_CASES]
)
def test_build_inputs_argv(overrides: dict[str, Any], expected: list[str]) -> None:
    s = settings.load({"image": "r/app", **overrides})
    assert build_argv(s, metadata_file=META) == expected


def test_build_inputs_reach_export_argv_too(tmp_path: Path) -> None:
    s = settings.load({"image": "r/app", "add_hosts": ["db:10.0.0.5"], "shm_size": "1g"})
    argv = export_argv(spec_from_settings(s), parse("linux/arm64"), ["r/app:x"], tmp_path / "a.tar")
    assert argv[argv.index("--add-host") : argv.index("--add-host") + 4] == [
        "--add-host", "db:10.0.0.5", "--shm-size", "1g",
    ]  # fmt: skip


def test_build_inputs_from_environment_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "buildxpy.toml").write_text(
        'image = "r/app"\n'
        'attests = ["type=sbom", "type=provenance,mode=max"]\n'
        'add_hosts = ["from-file:10.0.0.1"]\n'
        '[build_contexts]\nbase = "docker-image://alpine"\n'
        '[secret_envs]\nnpm = "NPM_TOKEN"\n'
    )
    # A list whose items hold commas comes one a line; a comma list where they cannot.
    monkeypatch.setenv("BUILDXPY_ATTESTS", "type=sbom,generator=x\ntype=provenance,mode=min")
    monkeypatch.setenv("BUILDXPY_ULIMITS", "nofile=100:200,nproc=50")
    monkeypatch.setenv("BUILDXPY_SECRET_ENVS", "gh=GH_TOKEN,npm=NPM_TOKEN")
    monkeypatch.setenv("BUILDXPY_CALL", "outline")
    s = settings.load({"add_hosts": ["from-flag:10.0.0.2"]}, cwd=tmp_path).declared()
    assert s["attests"] == ["type=sbom,generator=x", "type=provenance,mode=min"]  # env over file
    assert s["ulimits"] == ["nofile=100:200", "nproc=50"]
    assert s["add_hosts"] == ["from-flag:10.0.0.2"]  # flag over file
    assert s["build_contexts"] == {"base": "docker-image://alpine"}  # file
    assert s["secret_envs"] == {"gh": "GH_TOKEN", "npm": "NPM_TOKEN"}
    assert s["call"] == "outline"


def test_flags_reach_the_settings() -> None:
    from buildxpy.cli.commands._common import flag_overrides
    from buildxpy.cli.main import build_parser

    argv = [
        "build", "--ssh", "default", "--build-context", "b=docker-image://x", "--attest",
        "type=sbom", "--annotation", "index:k=v", "--check", "--no-cache-filter", "deps",
        "--add-host", "h:1.2.3.4", "--allow", "network.host", "--shm-size", "64m",
        "--ulimit", "nofile=1:2", "--secret-env", "npm=NPM_TOKEN", "--tags-from", "git",
        "--no-oci-metadata", "--cache", "local:/tmp/c", "--output-env", "out.env",
    ]  # fmt: skip
    got = flag_overrides(build_parser(argv).parse_args(argv))
    assert got == {
        "ssh": ["default"], "build_contexts": ["b=docker-image://x"], "attests": ["type=sbom"],
        "annotations": ["index:k=v"], "call": "check", "no_cache_filters": ["deps"],
        "add_hosts": ["h:1.2.3.4"], "allow": ["network.host"], "shm_size": "64m",
        "ulimits": ["nofile=1:2"], "secret_envs": ["npm=NPM_TOKEN"], "tags_from": "git",
        "oci_metadata": False, "cache": "local:/tmp/c", "output_env": "out.env",
    }  # fmt: skip


# fmt: off
BAD_INPUTS: list[tuple[dict[str, Any], str]] = [
    ({"ssh": ["bad id"]}, "invalid ssh 'bad id'"),
    ({"ssh": ["id="]}, "invalid ssh 'id='"),
    ({"build_contexts": ["noequals"]}, "expected KEY=VALUE"),
    ({"build_contexts": {"name": " "}}, "invalid build context"),
    ({"attests": ["type=spdx"]}, "invalid attest 'type=spdx'"),
    ({"attests": ["sbom"]}, "invalid attest 'sbom'"),
    ({"annotations": ["layer:k=v"]}, "invalid annotation 'layer:k=v'"),
    ({"annotations": ["novalue"]}, "invalid annotation 'novalue'"),
    ({"call": "lint-everything"}, "invalid call 'lint-everything'"),
    ({"no_cache_filters": ["a b"]}, "invalid no-cache-filter 'a b'"),
    ({"add_hosts": ["justahost"]}, "invalid add-host 'justahost'"),
    ({"allow": ["Network Host"]}, "invalid allow 'Network Host'"),
    ({"shm_size": "lots"}, "invalid shm-size 'lots'"),
    ({"ulimits": ["files=10"]}, "invalid ulimit 'files=10'"),
    ({"ulimits": ["nofile=20:10"]}, "soft limit is above the hard limit"),
    ({"secret_envs": {"npm": "s3cr3t value"}}, "invalid secret env npm=s3cr3t value"),
    ({"cache": "s3"}, "invalid cache 's3'"),
    ({"cache": "local:"}, "invalid cache 'local:'"),
    ({"tags_from": "svn"}, "tags_from"),
]
# fmt: on


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_bad_build_inputs_are_one_clear_line(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings.load({"image": "r/app", **overrides})
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


# ------------------------------------------------------------- the default cache in argv

REGISTRY = DefaultCache("registry", "reg.example/app")


@pytest.mark.parametrize(
    ("cache", "platforms", "expected"),
    [
        pytest.param(
            REGISTRY,
            ["linux/amd64", "linux/arm64"],
            [
                "--cache-from",
                "type=registry,ref=reg.example/app:buildcache",
                "--cache-to",
                "type=registry,ref=reg.example/app:buildcache,mode=max,ignore-error=true",
            ],
            id="registry, several platforms: one ref",
        ),
        pytest.param(
            REGISTRY,
            ["linux/arm/v7"],
            [
                "--cache-from",
                "type=registry,ref=reg.example/app:buildcache-linux-arm-v7",
                "--cache-to",
                "type=registry,ref=reg.example/app:buildcache-linux-arm-v7,mode=max,ignore-error=true",
            ],
            id="registry, one platform: its own ref",
        ),
        pytest.param(
            DefaultCache("registry", "reg.example/app", write=False),
            ["linux/amd64"],
            [
                "--cache-from",
                "type=registry,ref=reg.example/app:buildcache-linux-amd64",
            ],
            id="registry, not pushing: read only",
        ),
        pytest.param(
            DefaultCache("gha", "reg.example-app"),
            ["linux/amd64", "linux/arm64"],
            [
                "--cache-from",
                "type=gha,scope=reg.example-app",
                "--cache-to",
                "type=gha,scope=reg.example-app,mode=max,ignore-error=true",
            ],
            id="gha scope per image",
        ),
        pytest.param(
            DefaultCache("gha", "reg.example-app"),
            ["linux/arm64"],
            [
                "--cache-from",
                "type=gha,scope=reg.example-app-linux-arm64",
                "--cache-to",
                "type=gha,scope=reg.example-app-linux-arm64,mode=max,ignore-error=true",
            ],
            id="gha scope per image and platform",
        ),
        pytest.param(
            DefaultCache("local", "/ci/cache,x"),
            ["linux/arm64"],
            [
                "--cache-from",
                'type=local,"src=/ci/cache,x/linux-arm64"',
                "--cache-to",
                'type=local,"dest=/ci/cache,x/linux-arm64",mode=max,ignore-error=true',
            ],
            id="local directory per platform, quoted for buildx's CSV",
        ),
        pytest.param(None, ["linux/arm64"], [], id="none"),
    ],
)
def test_default_cache_flags(
    cache: DefaultCache | None, platforms: list[str], expected: list[str]
) -> None:
    assert cache_flags(cache, [parse(p) for p in platforms]) == expected


def test_export_gives_each_platform_its_own_cache(tmp_path: Path) -> None:
    spec = replace(
        spec_from_settings(settings.load({"image": "reg.example/app"})), default_cache=REGISTRY
    )
    refs = []
    for platform in ("linux/amd64", "linux/arm64"):
        argv = export_argv(spec, parse(platform), ["reg.example/app:x"], tmp_path / "a.tar")
        refs.append(argv[argv.index("--cache-from") + 1])
    assert refs == [
        "type=registry,ref=reg.example/app:buildcache-linux-amd64",
        "type=registry,ref=reg.example/app:buildcache-linux-arm64",
    ]
    build = spec_argv(spec, metadata_file=META)
    assert build[build.index("--cache-from") + 1] == "type=registry,ref=reg.example/app:buildcache"


def test_call_build_is_buildx_default_and_left_out() -> None:
    s = settings.load({"image": "r/app", "call": "build"})
    assert not any(a.startswith("--call") for a in build_argv(s, metadata_file=META))
