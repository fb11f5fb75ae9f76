"""The release pipeline on the real bed: tags from a git repository made here, OCI labels and
annotations read back from the registry, the default cache, CI outputs, the build inputs passed
through, and buildkitd configuration reconciled on a builder (created, not booted)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Bed, CliResult, after_preflight, docker, run_cli
from tests.integration.test_manifest import Images, registry_tags, remove_repository

OCI = "org.opencontainers.image"
COMMITTED = "2024-03-04T05:06:07+02:00"
COMMITTED_UTC = "2024-03-04T03:06:07Z"
REMOTE = "https://ci-bot:gl-remote-credential@git.example.com/team/app.git"
SOURCE = "https://git.example.com/team/app"
# A secret is not part of BuildKit's cache key: NONCE makes the step run in every test run.
DOCKERFILE = """\
ARG BASE
FROM ${BASE}
ARG NONCE
RUN --mount=type=secret,id=tok,required=true echo "$NONCE" >/nonce \\
    && sha256sum /run/secrets/tok | cut -d' ' -f1 >/tok
CMD ["cat", "/tok"]
"""


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_COMMITTER_DATE": COMMITTED, "GIT_AUTHOR_DATE": COMMITTED,
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}  # fmt: skip
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True,
                          check=True)  # fmt: skip
    return done.stdout.strip()


def make_repo(path: Path, dockerfile: str) -> Path:
    path.mkdir()
    (path / "Dockerfile").write_text(dockerfile)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "CI")
    git(path, "config", "user.email", "ci@example.com")
    git(path, "remote", "add", "origin", REMOTE)
    git(path, "add", "Dockerfile")
    git(path, "commit", "-q", "-m", "app")
    return path


def events(result: CliResult) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]


def docker_calls(result: CliResult) -> list[dict[str, Any]]:
    return [e for e in events(result) if e.get("event") == "docker"]


def error_lines(result: CliResult) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("buildxpy: error:")]


def read_github_output(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    lines = iter(path.read_text().split("\n"))
    for line in lines:
        if match := re.fullmatch(r"(\w+)<<(.+)", line):
            body = []
            for inner in lines:
                if inner == match[2]:
                    break
                body.append(inner)
            values[match[1]] = "\n".join(body)
    return values


def base_flags(bed: Bed) -> list[str]:
    flags = ["--builder", "default", "--build-arg", f"BASE={bed.base_image}"]
    return flags + (["--network", bed.run_network] if bed.run_network != "default" else [])


@dataclass
class Release:
    images: Images
    repo: Path
    sha: str
    secret: str
    cli: CliResult
    outputs: Path
    summary: Path
    dotenv: Path


REGISTRY_TAG_RACE = (
    r"unexpected status from HEAD request to \S+/manifests/\S+: 500 Internal Server Error"
)


@pytest.fixture(scope="module")
def release(
    bed: Bed, docker_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Release]:
    """One `buildxpy build --tags-from git` of a tagged commit, pushed for two platforms, as a
    GitHub Actions step would run it."""
    root = tmp_path_factory.mktemp("release")
    repo = make_repo(root / "app", DOCKERFILE)
    git(repo, "tag", "v1.2.3")
    secret = f"tok-{uuid.uuid4().hex}"
    outputs, summary, dotenv = root / "github-output", root / "step-summary", root / "build.env"

    def push(images: Images) -> CliResult:
        return run_cli(
            "--log-format", "json", "-v", "build", "--image", images.repo, "--tags-from", "git",
            "-t", "stable", "--platform", "linux/amd64,linux/arm64", "--secret-env", "tok=BXP_TOK",
            "--annotation", f"index:{OCI}.description=Pipeline test image", "--progress", "plain",
            "-o", str(root / "dist"), "--output-env", str(dotenv),
            "--build-arg", f"NONCE={images.path}", *base_flags(bed), str(repo),
            env={"BXP_TOK": secret, "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs),
                 "GITHUB_STEP_SUMMARY": str(summary)},
        )  # fmt: skip

    images = Images(bed.registry, f"bxp-release-{uuid.uuid4().hex[:8]}")
    result = push(images)
    if result.returncode != 0 and re.search(REGISTRY_TAG_RACE, result.stderr):
        # The bed's registry (distribution's filesystem driver) rewrites a tag's link file in
        # place, so a HEAD of one tag while BuildKit pushes the six tags of this build at once can
        # read it half-written and answer 500 ("invalid checksum digest format" in its log). That
        # is the bed's registry, not buildxpy: the build is pushed again, once, to a new repository.
        remove_repository(images)
        images = Images(bed.registry, f"bxp-release-{uuid.uuid4().hex[:8]}")
        result = push(images)
    yield Release(images, repo, git(repo, "rev-parse", "HEAD"), secret, result, outputs, summary,
                  dotenv)  # fmt: skip
    remove_repository(images)


def test_release_build_succeeds(release: Release) -> None:
    assert release.cli.returncode == 0, str(release.cli)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", release.cli.stdout)


def test_registry_holds_exactly_the_expected_tags(release: Release) -> None:
    assert sorted(registry_tags(release.images)) == sorted(
        ["1.2.3", "1.2", "1", "latest", f"sha-{release.sha[:7]}", "stable", "buildcache"]
    )


def expected_metadata(release: Release) -> dict[str, str]:
    return {
        f"{OCI}.created": COMMITTED_UTC,
        f"{OCI}.revision": release.sha,
        f"{OCI}.source": SOURCE,
        f"{OCI}.title": release.images.path,
        f"{OCI}.url": SOURCE,
        f"{OCI}.version": "1.2.3",
    }


def test_index_and_each_manifest_carry_the_annotations(release: Release) -> None:
    ref = release.images.ref("1.2.3")
    index = json.loads(docker("buildx", "imagetools", "inspect", "--raw", ref))
    wanted = expected_metadata(release)
    assert index["annotations"] == {**wanted, f"{OCI}.description": "Pipeline test image"}
    images = [m for m in index["manifests"] if m["platform"]["os"] != "unknown"]
    assert {m["platform"]["architecture"] for m in images} == {"amd64", "arm64"}
    for entry in images:
        manifest = json.loads(
            docker(
                "buildx",
                "imagetools",
                "inspect",
                "--raw",
                f"{release.images.repo}@{entry['digest']}",
            )
        )
        assert manifest["annotations"] == wanted


def test_each_image_config_carries_the_labels(release: Release) -> None:
    configs = json.loads(
        docker("buildx", "imagetools", "inspect", release.images.ref("latest"),
               "--format", "{{json .Image}}")
    )  # fmt: skip
    assert set(configs) == {"linux/amd64", "linux/arm64"}
    for config in configs.values():
        labels = config["config"]["Labels"]
        assert {k: v for k, v in labels.items() if k.startswith(OCI)} == expected_metadata(release)


def test_the_secret_env_reached_the_build_and_nothing_else(release: Release) -> None:
    ran = docker("run", "--rm", "--pull", "always", "--network", "none", "--platform",
                 "linux/arm64", release.images.ref("1.2.3"))  # fmt: skip
    assert ran.strip() == hashlib.sha256(release.secret.encode()).hexdigest()
    everything = [release.cli.stdout, release.cli.stderr]
    everything += [p.read_text() for p in (release.outputs, release.summary, release.dotenv)]
    for text in everything:
        assert release.secret not in text
        assert "gl-remote-credential" not in text


def test_one_build_process_after_one_read_only_question(release: Release) -> None:
    preflight, calls = after_preflight(docker_calls(release.cli))
    assert len(preflight) <= 1  # the base image, unless an earlier build remembers its platforms
    # After the build only verification's reads of what was pushed (test_verify.py counts them).
    first_build = next(i for i, c in enumerate(calls) if c["argv"][1:3] == ["buildx", "build"])
    assert all(
        c["argv"][1:4] == ["buildx", "imagetools", "inspect"] or "type=tar,dest=-" in c["argv"]
        for c in calls[first_build + 1 :]
    ), calls
    calls = calls[: first_build + 1]
    assert [c["argv"][1:4] for c in calls] == [
        ["--context", "default", "info"],  # can this builder export cache?
        ["buildx", "build", "--builder"],
    ]
    assert calls[0]["level"] == "debug"  # read-only
    argv = calls[1]["argv"]
    cache = f"type=registry,ref={release.images.repo}:buildcache"
    assert argv[argv.index("--cache-from") + 1] == cache
    assert argv[argv.index("--cache-to") + 1] == f"{cache},mode=max,ignore-error=true"


def test_github_outputs_summary_and_dotenv(release: Release) -> None:
    values = read_github_output(release.outputs)
    digest = release.cli.stdout.strip()
    assert values["digest"] == digest
    assert values["tags"].splitlines()[:2] == [
        release.images.ref("1.2.3"), release.images.ref("1.2"),
    ]  # fmt: skip
    assert json.loads(values["metadata"])["containerimage.digest"] == digest
    assert f"| digest | `{digest}` |" in release.summary.read_text()
    dotenv = dict(line.split("=", 1) for line in release.dotenv.read_text().splitlines())
    assert dotenv["BUILDXPY_OUT_DIGEST"] == digest
    assert dotenv["BUILDXPY_OUT_TAGS"].split(",")[-1] == release.images.ref("stable")


def test_tags_from_git_outside_git_is_one_line_before_docker(
    docker_config: Path, tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    result = run_cli("--log-format", "json", "build", "--image", "r/app", "--tags-from", "git",
                     str(tmp_path), env={"DOCKER_HOST": f"unix://{tmp_path}/nowhere.sock"})  # fmt: skip
    assert result.returncode == 1
    assert error_lines(result) == [
        f'buildxpy: error: tags_from = "git": {tmp_path} is not in a git checkout with a commit'
    ]
    assert docker_calls(result) == []


def test_check_on_this_buildx_is_one_clear_line(
    bed: Bed, docker_config: Path, tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    result = run_cli("--log-format", "json", "-v", "build", "--image", "r/app", "--check",
                     "--builder", "default", str(tmp_path))  # fmt: skip
    version = docker("buildx", "version")
    if re.search(r"\bv?0\.1[0-4]\.", version):
        assert result.returncode == 1, str(result)
        [line] = error_lines(result)
        assert re.fullmatch(
            r"buildxpy: error: --call check needs buildx 0\.15 or later; this buildx is 0\.1\d\.\d+",
            line,
        )
        assert [c["argv"][1:3] for c in docker_calls(result)] == [["buildx", "version"]]
    else:  # a newer buildx runs the checks: nothing is built or pushed
        assert "--push" not in docker_calls(result)[-1]["argv"]


# ------------------------------------------------------------- every build input, for real

INPUTS_DOCKERFILE = """\
ARG BASE
FROM ${BASE} AS final
RUN --mount=type=secret,id=tok,required=true --mount=type=ssh,required=true \\
    --mount=type=bind,from=extra,target=/extra \\
    sha256sum /run/secrets/tok | cut -d' ' -f1 >/tok \\
    && grep db.internal /etc/hosts | tr -s ' \\t' ' ' >/hosts \\
    && ulimit -n >/nofile \\
    && df -k /dev/shm | tail -1 | tr -s ' ' | cut -d' ' -f2 >/shm-kb \\
    && cat /extra/message >/extra-message \\
    && test -S "$SSH_AUTH_SOCK" && echo agent >/ssh
"""


@pytest.fixture
def ssh_agent(tmp_path: Path) -> Iterator[str]:
    socket = tmp_path / "agent.sock"
    started = subprocess.run(["ssh-agent", "-a", str(socket)], capture_output=True, text=True,
                             check=True)  # fmt: skip
    pid = int(re.search(r"SSH_AGENT_PID=(\d+)", started.stdout)[1])  # type: ignore[index]
    yield str(socket)
    os.kill(pid, signal.SIGTERM)


def test_build_inputs_reach_the_build(
    bed: Bed, docker_config: Path, tmp_path: Path, unique: str, ssh_agent: str
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(INPUTS_DOCKERFILE)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "message").write_text(f"from the named context {unique}\n")
    ref = f"{bed.registry}/{unique}:inputs"
    secret = f"s-{uuid.uuid4().hex}"
    result = run_cli(
        "--log-format", "json", "build", "--image", f"{bed.registry}/{unique}", "-t", "inputs",
        "--platform", "linux/amd64", "--no-push", "--load", "--secret-env", "tok=BXP_INPUT_TOK",
        "--ssh", "default", "--build-context", f"extra={extra}", "--add-host",
        "db.internal:10.1.2.3", "--ulimit", "nofile=1024:2048", "--shm-size", "128m",
        "--no-cache-filter", "final", "-o", str(tmp_path / "dist"), *base_flags(bed), str(context),
        env={"BXP_INPUT_TOK": secret, "SSH_AUTH_SOCK": ssh_agent},
    )  # fmt: skip
    try:
        assert result.returncode == 0, str(result)

        def read(path: str) -> str:
            return docker("run", "--rm", "--network", "none", ref, "cat", path).strip()

        assert read("/tok") == hashlib.sha256(secret.encode()).hexdigest()
        assert read("/hosts") == "10.1.2.3 db.internal"
        assert read("/nofile") == "1024"
        assert read("/shm-kb") == str(128 * 1024)
        assert read("/extra-message") == f"from the named context {unique}"
        assert read("/ssh") == "agent"
        assert secret not in result.stderr
    finally:
        docker("image", "rm", "--force", ref, check=False)


# ------------------------------------------------------------- export: a cache per platform


def test_export_writes_one_cache_per_platform(
    bed: Bed, docker_config: Path, tmp_path: Path, unique: str
) -> None:
    images = Images(bed.registry, unique)
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}\nRUN uname -m >/arch\n")
    outputs = tmp_path / "github-output"
    result = run_cli(
        "--log-format", "json", "export", "--image", images.repo, "--platform",
        "linux/amd64,linux/arm64", "-o", str(tmp_path / "dist"), *base_flags(bed), str(context),
        env={"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs)},
    )  # fmt: skip
    try:
        assert result.returncode == 0, str(result)
        assert sorted(registry_tags(images)) == ["buildcache-linux-amd64", "buildcache-linux-arm64"]
        assert read_github_output(outputs)["tarballs"].splitlines() == [
            str(tmp_path / "dist" / f"{unique}-linux-amd64.tar"),
            str(tmp_path / "dist" / f"{unique}-linux-arm64.tar"),
        ]
    finally:
        remove_repository(images)


# ------------------------------------------------------------- buildkitd configuration


def stored_config(docker_config: Path, builder: str) -> dict[str, Any]:
    instance = json.loads((docker_config / "buildx" / "instances" / builder).read_text())
    [node] = instance["Nodes"]
    return tomllib.loads(base64.b64decode(node["Files"]["buildkitd.toml"]).decode())


def mutating(result: CliResult) -> list[str]:
    return [" ".join(c["argv"][1:]) for c in docker_calls(result) if c["level"] == "info"]


def read_only(result: CliResult) -> list[str]:
    return [" ".join(c["argv"][1:]) for c in docker_calls(result) if c["level"] == "debug"]


def test_buildkitd_config_is_created_kept_and_reconciled(
    bed: Bed, docker_config: Path, tmp_path: Path, unique: str
) -> None:
    def configure(parallelism: int) -> None:
        (tmp_path / "buildxpy.toml").write_text(
            f'platforms = ["linux/amd64"]\n[builder]\nname = "{unique}"\n'
            f"[builder.buildkitd]\nmax_parallelism = {parallelism}\n"
            '[builder.buildkitd.registry."registry.ci.internal:5000"]\nhttp = true\n'
        )

    def setup() -> CliResult:
        return run_cli("--log-format", "json", "-v", "builder", "setup", "--no-bootstrap",
                       cwd=tmp_path)  # fmt: skip

    written = docker_config / "buildxpy" / "buildkitd" / f"{unique}.toml"
    create = (f"buildx create --name {unique} --driver docker-container --buildkitd-config "
              f"{written} --platform linux/amd64 --node {unique}0")  # fmt: skip
    configure(2)
    try:
        first = setup()
        assert first.returncode == 0, str(first)
        assert mutating(first) == [create]
        assert stored_config(docker_config, unique) == {
            "registry": {"registry.ci.internal:5000": {"http": True}},
            "worker": {"oci": {"max-parallelism": 2}},
        }

        again = setup()
        assert again.returncode == 0, str(again)
        assert (mutating(again), read_only(again)) == ([], ["buildx ls --format json"])

        configure(3)
        changed = setup()
        assert changed.returncode == 0, str(changed)
        assert mutating(changed) == [f"buildx rm --keep-state {unique}", create]
        assert stored_config(docker_config, unique)["worker"]["oci"]["max-parallelism"] == 3
    finally:
        docker("buildx", "rm", unique, check=False)
