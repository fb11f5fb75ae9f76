"""`buildxpy build` on the real bed, on the engine's own `default` builder."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import REPO, Bed, CliResult, docker, run_cli

INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
# The RUN step fails unless the secret is mounted, and records its hash and the machine it ran on.
# A secret's value is not part of BuildKit's cache key, so NONCE makes the step run every time.
DOCKERFILE = """\
ARG BASE
FROM ${BASE}
ARG NONCE
RUN --mount=type=secret,id=tok,required=true echo "$NONCE" >/nonce \\
    && sha256sum /run/secrets/tok | cut -d' ' -f1 >/tok.sha256 && uname -m >/build-arch
CMD ["uname", "-m"]
"""


@dataclass
class Built:
    repo: str
    tag: str
    secret: str
    cli: CliResult
    output_dir: Path

    @property
    def ref(self) -> str:
        return f"{self.repo}:{self.tag}"


def events(result: CliResult) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]


def docker_events(result: CliResult) -> list[dict[str, Any]]:
    return [e for e in events(result) if e.get("event") == "docker"]


def registry_digest(registry: str, repo_path: str, tag: str) -> str | None:
    request = urllib.request.Request(
        f"http://{registry}/v2/{repo_path}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": ", ".join(INDEX_TYPES)},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return str(response.headers["Docker-Content-Digest"])
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def delete_from_registry(registry: str, repo_path: str, digest: str) -> None:
    request = urllib.request.Request(
        f"http://{registry}/v2/{repo_path}/manifests/{digest}", method="DELETE"
    )
    with contextlib.suppress(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=30).close()  # noqa: S310


def build_args(bed: Bed, context: Path) -> list[str]:
    args = ["--build-arg", f"BASE={bed.base_image}", "--builder", "default"]
    if bed.run_network != "default":
        args += ["--network", bed.run_network]
    return [*args, str(context)]


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("build-context")
    (path / "Dockerfile").write_text(DOCKERFILE)
    return path


@pytest.fixture(scope="module")
def built(
    bed: Bed, docker_config: Path, context: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Built]:
    name = f"bxp-build-{uuid.uuid4().hex[:8]}"
    secret = f"tok-{uuid.uuid4().hex}"
    output_dir = tmp_path_factory.mktemp("dist")
    result = run_cli(
        "--log-format", "json", "-v", "build", "--image", f"{bed.registry}/{name}",
        "-t", "v1", "--platform", "linux/amd64,linux/arm64", "--secret", "id=tok,env=BXP_TOK",
        "--progress", "plain", "-o", str(output_dir), "--build-arg", f"NONCE={name}",
        *build_args(bed, context), env={"BXP_TOK": secret},
    )  # fmt: skip
    done = Built(f"{bed.registry}/{name}", "v1", secret, result, output_dir)
    yield done
    digest = registry_digest(bed.registry, name, "v1")
    if digest:
        delete_from_registry(bed.registry, name, digest)
    docker("rmi", "-f", done.ref, check=False)


def test_build_succeeds_and_prints_only_the_digest(built: Built) -> None:
    assert built.cli.returncode == 0, str(built.cli)
    lines = built.cli.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("sha256:")
    assert len(lines[0]) == 71


def test_printed_digest_is_the_registry_digest(bed: Bed, built: Built) -> None:
    name = built.repo.split("/", 1)[1]
    assert registry_digest(bed.registry, name, built.tag) == built.cli.stdout.strip()


def test_index_holds_both_platforms(built: Built) -> None:
    index = json.loads(docker("buildx", "imagetools", "inspect", "--raw", built.ref))
    assert index["mediaType"] in INDEX_TYPES
    platforms = {
        f"{m['platform']['os']}/{m['platform']['architecture']}"
        for m in index["manifests"]
        if m["platform"]["os"] != "unknown"
    }
    assert platforms == {"linux/amd64", "linux/arm64"}


def test_metadata_file_is_kept(built: Built) -> None:
    metadata = json.loads((built.output_dir / "build-metadata.json").read_text())
    assert metadata["containerimage.digest"] == built.cli.stdout.strip()
    assert [p.name for p in built.output_dir.iterdir()] == ["build-metadata.json"]


@pytest.mark.parametrize(
    ("platform", "machine"), [("linux/arm64", "aarch64"), ("linux/amd64", "x86_64")]
)
def test_each_image_runs_on_its_platform(built: Built, platform: str, machine: str) -> None:
    run = ["run", "--rm", "--pull", "always", "--network", "none", "--platform", platform]
    assert docker(*run, built.ref).strip() == machine
    # The RUN step ran in this build (not taken from the cache) for that platform, under QEMU
    # for arm64.
    assert docker(*run, built.ref, "cat", "/build-arch").strip() == machine
    assert docker(*run, built.ref, "cat", "/nonce").strip() == built.repo.split("/", 1)[1]


def test_build_secret_reached_the_run_step(built: Built) -> None:
    recorded = docker(
        "run", "--rm", "--network", "none", "--platform", "linux/arm64", built.ref,
        "cat", "/tok.sha256",
    )  # fmt: skip
    assert recorded.strip() == hashlib.sha256(built.secret.encode()).hexdigest()


def test_secret_value_appears_nowhere(built: Built) -> None:
    assert built.secret not in built.cli.stdout
    assert built.secret not in built.cli.stderr
    for event in events(built.cli):
        assert built.secret not in json.dumps(event)
    [build] = [
        e
        for e in docker_events(built.cli)
        if e["argv"][1:3] == ["buildx", "build"] and "--push" in e["argv"]
    ]
    argv = build["argv"]
    assert "id=tok,env=BXP_TOK" in argv
    assert built.secret not in " ".join(argv)


def test_exactly_one_docker_process_per_build(built: Built) -> None:
    """One pushing `buildx build`; besides it (logged with -v) only read-only questions."""
    calls = docker_events(built.cli)
    builds = [c for c in calls if c["argv"][:3] == ["docker", "buildx", "build"]]
    pushed = [c for c in builds if "--push" in c["argv"]]
    assert len(pushed) == 1, calls
    assert pushed[0]["exit_code"] == 0
    info = ["docker", "--context", "default", "info", "--format", "{{json .}}"]
    # The rest only read: the engine's own platform for the routing plan (once, then kept), and
    # what was pushed, for verification: the index, the configs, each platform's file system
    # streamed as a tar. test_verify.py shows --no-verify leaves the one build.
    for call in calls:
        argv = call["argv"]
        assert (
            call is pushed[0]
            or argv == info
            or argv[1:4] == ["buildx", "imagetools", "inspect"]
            or "type=tar,dest=-" in argv
        ), calls


def test_do_not_push_builds_and_pushes_nothing(
    bed: Bed, docker_config: Path, context: Path, unique: str, tmp_path: Path
) -> None:
    repo = f"{bed.registry}/{unique}"
    result = run_cli(
        "--log-format", "json", "build", "--image", repo, "--platform", "linux/amd64,linux/arm64",
        "--secret", "id=tok,env=BXP_TOK", "-o", str(tmp_path), *build_args(bed, context),
        env={"DO_NOT_PUSH": "true", "BXP_TOK": "x" * 8},
    )  # fmt: skip
    try:
        assert result.returncode == 0, str(result)
        [call] = docker_events(result)
        assert "--push" not in call["argv"]
        assert registry_digest(bed.registry, unique, "latest") is None
        assert (
            json.loads((tmp_path / "build-metadata.json").read_text())["containerimage.digest"]
            == result.stdout.strip()
        )
    finally:
        docker("rmi", "-f", f"{repo}:latest", check=False)


def test_dry_run_prints_the_command_and_runs_nothing(
    bed: Bed, docker_config: Path, context: Path, unique: str, tmp_path: Path
) -> None:
    repo = f"{bed.registry}/{unique}"
    result = run_cli(
        "--dry-run", "--log-format", "json", "build", "--image", repo,
        "-o", str(tmp_path / "out"), *build_args(bed, context),
    )  # fmt: skip
    assert result.returncode == 0, str(result)
    [line] = result.stdout.splitlines()
    assert line.startswith(
        "docker buildx build --builder default --platform linux/amd64,linux/arm64 "
    )
    assert f"-t {repo}:latest" in line
    assert line.endswith(f"--push {context}")
    assert docker_events(result) == []
    assert not (tmp_path / "out").exists()
    assert registry_digest(bed.registry, unique, "latest") is None


def test_missing_builder_names_builder_setup(
    bed: Bed, docker_config: Path, context: Path, unique: str
) -> None:
    result = run_cli(
        "build", "--image", f"{bed.registry}/{unique}", "--builder", unique, str(context),
        "--no-push", "-o", str(context / "dist"),
    )  # fmt: skip
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("buildxpy: error:")]
    expected = f"builder '{unique}' does not exist; create it with `buildxpy builder setup`"
    assert errors == [f"buildxpy: error: {expected}"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--platform", "linux/arm65"], "unknown architecture 'arm65'"),
        (["-t", "no spaces allowed"], "invalid tag"),
        (["--build-arg", "=x"], "invalid build argument '=x'"),
        (["--secret", "id=tok,nonsense"], "invalid secret"),
    ],
)
def test_bad_input_never_reaches_docker(
    docker_config: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_cli(
        "--log-format", "json", "build", "--image", "r/app", *args, str(tmp_path),
        env={"DOCKER_HOST": f"unix://{tmp_path}/nowhere.sock"},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("buildxpy: error: ")
    assert message in line


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_build_stops_and_leaves_no_scratch_file(
    bed: Bed, docker_config: Path, unique: str, tmp_path: Path, sig: signal.Signals
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {bed.base_image}\nRUN echo {unique} && sleep 120\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "build-metadata.json").write_text('{"containerimage.digest": "sha256:earlier"}')
    proc = subprocess.Popen(
        [sys.executable, "-m", "buildxpy", "build", "--image", f"{bed.registry}/{unique}",
         "--builder", "default", "--platform", "linux/amd64", "-o", str(out), str(context)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".build-metadata-") for p in out.iterdir()):
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.1)
    time.sleep(3)  # well into the RUN step
    started = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert time.monotonic() - started < 30
    assert "buildxpy: interrupted" in err
    assert [p.name for p in out.iterdir()] == ["build-metadata.json"]
    assert "sha256:earlier" in (out / "build-metadata.json").read_text()
    assert registry_digest(bed.registry, unique, "latest") is None
