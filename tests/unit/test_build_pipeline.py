"""`build_image` with what buildxpy adds on its own: the default cache (and when a builder cannot
take it), the fallbacks for an older buildx, `--call`, and the inputs checked before a build."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from buildxpy.builds.one_build import BuildResult, build_image
from buildxpy.docker.buildx_features import parse_version
from buildxpy.docker.runner import Completed
from buildxpy.errors import BuildxpyError, CommandFailed, ConfigError
from buildxpy.settings import model as settings
from buildxpy.settings.handoff import spec_from_settings
from tests.fakes import Call, FakeRunner

DATA = Path(__file__).parent.parent / "data"
CONTAINERD_INFO = (DATA / "docker-info-containerd-store.json").read_text()
GRAPHDRIVER_INFO = (DATA / "docker-info-arm64.json").read_text()
DEBIAN_BUILDX_0_13 = "github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3\n"


@pytest.fixture(autouse=True)
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    return tmp_path


def writes_metadata(call: Call) -> Completed:
    path = Path(call.args[call.args.index("--metadata-file") + 1])
    path.write_text(json.dumps({"containerimage.digest": "sha256:" + "a" * 64}))
    return Completed(0)


def build(fake: FakeRunner, **overrides: Any) -> BuildResult:
    # What was pushed is verified elsewhere (test_verify.py); here only the build's own argv.
    values = {"image": "reg.example/app", "builder": {"name": "default"}, "verify": False}
    return build_image(spec_from_settings(settings.load({**values, **overrides})), fake)


def build_call(fake: FakeRunner) -> list[str]:
    [call] = fake.find("buildx", "build")
    return call.args


def flag_values(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


# ------------------------------------------------------------- the default cache


def test_pushing_on_the_containerd_store_caches_in_the_registry(fake: FakeRunner) -> None:
    fake.on("--context", "default", "info", stdout=CONTAINERD_INFO)
    fake.on("buildx", "build", answer=writes_metadata)
    build(fake)
    argv = build_call(fake)
    assert flag_values(argv, "--cache-from") == ["type=registry,ref=reg.example/app:buildcache"]
    assert flag_values(argv, "--cache-to") == [
        "type=registry,ref=reg.example/app:buildcache,mode=max,ignore-error=true"
    ]
    # One read-only question before the one build.
    assert [c.args[:3] for c in fake.calls] == [
        ["--context", "default", "info"], ["buildx", "build", "--builder"],
    ]  # fmt: skip


def test_the_docker_driver_without_containerd_skips_the_cache_with_one_line(
    fake: FakeRunner,
) -> None:
    fake.on("--context", "default", "info", stdout=GRAPHDRIVER_INFO)
    fake.on("buildx", "build", answer=writes_metadata)
    with capture_logs() as logs:
        build(fake)
    assert "--cache-to" not in build_call(fake)
    assert "--cache-from" not in build_call(fake)
    [line] = [e for e in logs if "cache" in e["event"]]
    assert line["log_level"] == "info"
    assert "cannot export build cache" in line["event"]


def test_a_created_builder_needs_no_question(fake: FakeRunner, project: Path) -> None:
    store = project / "docker-config" / "buildx" / "instances" / "ci"
    store.parent.mkdir(parents=True)
    store.write_text('{"Name": "ci", "Driver": "docker-container", "Nodes": []}')
    fake.on("buildx", "build", answer=writes_metadata)
    build(fake, builder={"name": "ci"}, platforms=["linux/arm64"])
    assert len(fake.calls) == 1
    assert flag_values(build_call(fake), "--cache-from") == [
        "type=registry,ref=reg.example/app:buildcache-linux-arm64"
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        {"cache_from": ["type=registry,ref=other/cache"]},
        {"cache_to": ["type=inline"]},
        {"cache": "off"},
        {"push": False},
    ],
    ids=["explicit cache-from wins", "explicit cache-to wins", "off", "not pushing"],
)
def test_no_default_cache(fake: FakeRunner, overrides: dict[str, Any]) -> None:
    fake.on("buildx", "build", answer=writes_metadata)
    build(fake, **overrides)
    assert len(fake.calls) == 1  # not even the question
    argv = build_call(fake)
    assert flag_values(argv, "--cache-from") == overrides.get("cache_from", [])
    assert flag_values(argv, "--cache-to") == overrides.get("cache_to", [])


def test_gha_needs_no_question_about_the_builder(
    fake: FakeRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACTIONS_RUNTIME_TOKEN", "runtime-token-1234")
    monkeypatch.setenv("ACTIONS_RESULTS_URL", "https://results.example/")
    fake.on("--context", "default", "info", stdout=CONTAINERD_INFO)
    fake.on("buildx", "build", answer=writes_metadata)
    build(fake)
    argv = build_call(fake)
    assert flag_values(argv, "--cache-from") == ["type=gha,scope=reg.example-app"]
    assert "runtime-token-1234" not in " ".join(argv)


# ------------------------------------------------------------- an older buildx


def test_annotations_are_dropped_with_one_line_when_buildx_lacks_the_flag(
    fake: FakeRunner,
) -> None:
    fake.on("buildx", "build", answer=writes_metadata)
    fake.on("buildx", "build", exit_code=1, stderr="unknown flag: --annotation\n", times=1)
    with capture_logs() as logs:
        result = build(fake, push=False)
    first, second = fake.find("buildx", "build")
    assert "--annotation" in first.args
    assert "--annotation" not in second.args
    assert "--label" in second.args  # the labels still carry the metadata
    assert result.digest == "sha256:" + "a" * 64
    [line] = [e for e in logs if "annotation" in e["event"]]
    assert line["log_level"] == "info"


def test_on_a_terminal_the_version_tells(fake: FakeRunner) -> None:
    """buildx's output went to the terminal: the version decides whether to retry."""
    fake.on("buildx", "version", stdout="github.com/docker/buildx v0.11.2 9872040\n")
    fake.on("buildx", "build", answer=writes_metadata)
    fake.on("buildx", "build", answer=lambda call: Completed(1, stderr_tail=[]), times=1)
    build(fake, push=False)
    assert len(fake.find("buildx", "build")) == 2


def test_other_failures_are_not_retried(fake: FakeRunner) -> None:
    fake.on("buildx", "build", exit_code=1, stderr="ERROR: failed to solve: exit code 1\n")
    with pytest.raises(CommandFailed):
        build(fake, push=False)
    assert len(fake.find("buildx", "build")) == 1


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("github.com/docker/buildx v0.13.1 788433953af10f2a698f5c07611dddce2e08c7a0", (0, 13, 1)),
        (DEBIAN_BUILDX_0_13, (0, 13, 1)),
        ("github.com/docker/buildx v0.20.1-desktop.2 d5f5d9c", (0, 20, 1)),
        ("github.com/docker/buildx 0.30", (0, 30, 0)),
        ("something else", None),
    ],
)
def test_parse_version(text: str, version: tuple[int, int, int] | None) -> None:
    assert parse_version(text) == version


# ------------------------------------------------------------- --call


def test_call_needs_buildx_0_15(fake: FakeRunner) -> None:
    fake.on("buildx", "version", stdout=DEBIAN_BUILDX_0_13)
    with pytest.raises(ConfigError) as caught:
        build(fake, call="check")
    assert str(caught.value) == ("--call check needs buildx 0.15 or later; this buildx is 0.13.1")
    assert fake.find("buildx", "build") == []


def test_call_prints_buildx_answer_and_builds_nothing(fake: FakeRunner) -> None:
    fake.on("buildx", "version", stdout="github.com/docker/buildx v0.29.1 a1b2c3\n")
    fake.on("buildx", "build", stdout="TARGET  DESCRIPTION\nprod    the image\n")
    result = build(fake, call="targets")
    argv = build_call(fake)
    assert "--call=targets" in argv
    assert "--push" not in argv
    assert "--metadata-file" not in argv
    assert "--cache-to" not in argv
    assert result.call_output == "TARGET  DESCRIPTION\nprod    the image\n"
    assert result.digest is None


def test_failed_checks_are_an_error_with_their_findings(fake: FakeRunner) -> None:
    fake.on("buildx", "version", stdout="github.com/docker/buildx v0.29.1 a1b2c3\n")
    fake.on("buildx", "build", exit_code=1, stdout="WARNING: FromAsCasing\nline 1\n")
    with pytest.raises(BuildxpyError) as caught:
        build(fake, call="check")
    assert caught.value.message == (
        "`docker buildx build --call=check` exited with 1: the build checks found problems"
    )
    assert caught.value.details == ["WARNING: FromAsCasing", "line 1"]


# ------------------------------------------------------------- inputs checked before a build


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ssh": ["default"]}, "ssh 'default': no ssh agent (SSH_AUTH_SOCK is not set)"),
        ({"ssh": ["deploy=/no/such/key"]}, "ssh 'deploy': /no/such/key does not exist"),
        ({"build_contexts": {"assets": "no-such-dir"}},
         "build context 'assets': no-such-dir is not a directory"),
        ({"secret_envs": {"npm": "NPM_TOKEN_NOT_SET"}},
         "secret 'npm': environment variable NPM_TOKEN_NOT_SET is not set"),
    ],
)  # fmt: skip
def test_what_inputs_point_at_is_checked_before_docker(
    fake: FakeRunner, monkeypatch: pytest.MonkeyPatch, overrides: dict[str, Any], message: str
) -> None:
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with pytest.raises(ConfigError) as caught:
        build(fake, **overrides)
    assert str(caught.value) == message
    assert fake.calls == []


def test_remote_build_contexts_are_left_to_buildx(fake: FakeRunner) -> None:
    fake.on("buildx", "build", answer=writes_metadata)
    contexts = {
        "base": "docker-image://alpine:3.20",
        "src": "https://github.com/acme/app.git#main",
        "stage": "target:deps",
        "layout": "oci-layout:///tmp/layout@sha256:" + "b" * 64,
    }
    build(fake, push=False, build_contexts=contexts)
    assert flag_values(build_call(fake), "--build-context") == [
        f"{k}={v}" for k, v in contexts.items()
    ]


def test_secret_env_values_are_masked_and_never_in_argv(
    fake: FakeRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NPM_TOKEN", "npm-secret-value-42")
    fake.on("buildx", "build", answer=writes_metadata)
    with capture_logs() as logs:
        build(fake, push=False, secret_envs={"npm": "NPM_TOKEN"})
    assert "--secret" in build_call(fake)
    assert "id=npm,env=NPM_TOKEN" in build_call(fake)
    assert "npm-secret-value-42" not in json.dumps([c.args for c in fake.calls])
    assert "npm-secret-value-42" not in json.dumps(logs, default=str)
    from buildxpy import redact

    assert redact.text("npm-secret-value-42") == "***"
