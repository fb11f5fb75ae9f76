"""Builds take buildxpy.lock's pins as named contexts, refuse a base it lacks, float without it,
and leave a context the user gave for the same name as it is."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from buildxpy.builds.argv import build_argv
from buildxpy.builds.bases import prepare_bases
from buildxpy.builds.spec import BuildSpec
from buildxpy.errors import BuildxpyError, ConfigError
from buildxpy.pins.lockfile import Pin, write_lock
from buildxpy.platforms.names import parse
from tests.fakes import FakeRunner

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
APP, TOOLS = "reg.example/app:1", "reg.example:5000/team/tools:2"
PLATFORMS = (parse("linux/amd64"), parse("linux/arm64"))
BOTH = {"linux/amd64": B, "linux/arm64": B}


@pytest.fixture
def context(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text(
        f"ARG TOOLS={TOOLS}\nFROM $TOOLS AS tools\nFROM {APP}\nCOPY --from=tools / /\n"
    )
    return tmp_path


def spec(where: Path, **values: object) -> BuildSpec:
    fields: dict[str, object] = {"platforms": PLATFORMS, "context": str(where), "preflight": True,
                                 "builder": "b1", "lock_file": where / "buildxpy.lock"}  # fmt: skip
    return BuildSpec(**{**fields, **values})  # type: ignore[arg-type]


def test_each_pinned_base_becomes_a_named_context(fake: FakeRunner, context: Path) -> None:
    write_lock(context / "buildxpy.lock", {APP: Pin(A, BOTH), TOOLS: Pin(B, BOTH)})
    prepared = prepare_bases(spec(context), fake)
    assert prepared.build_contexts == {
        APP: f"docker-image://reg.example/app@{A}",
        TOOLS: f"docker-image://reg.example:5000/team/tools@{B}",
    }
    argv = build_argv(prepared, metadata_file=None)
    assert f"{APP}=docker-image://reg.example/app@{A}" in argv
    # The lock stands in for the registry: a pinned base is not asked about.
    assert fake.calls == []


def test_pins_and_preflight_share_one_parse_of_the_dockerfile(
    fake: FakeRunner, context: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from buildxpy.builds import bases
    from buildxpy.preflight import dockerfile

    parses: list[str] = []
    real = dockerfile.parse_dockerfile

    def counted(text: str) -> dockerfile.Dockerfile:
        parses.append(text)
        return real(text)

    monkeypatch.setattr(dockerfile, "parse_dockerfile", counted)
    bases._parsed.cache_clear()
    write_lock(context / "buildxpy.lock", {APP: Pin(A, BOTH), TOOLS: Pin(B, BOTH)})
    prepare_bases(spec(context, reproducible=True), fake)
    assert len(parses) == 1


def test_the_pinned_base_follows_the_build_arguments(fake: FakeRunner, context: Path) -> None:
    other = "reg.example/other-tools:3"
    write_lock(context / "buildxpy.lock", {APP: Pin(A, BOTH), other: Pin(B, BOTH)})
    prepared = prepare_bases(spec(context, build_args={"TOOLS": other}), fake)
    assert set(prepared.build_contexts) == {APP, other}


def test_a_base_the_lock_lacks_is_refused_before_building(fake: FakeRunner, context: Path) -> None:
    lock = context / "buildxpy.lock"
    write_lock(lock, {APP: Pin(A, BOTH)})
    with pytest.raises(ConfigError) as info:
        prepare_bases(spec(context, preflight=False), fake)
    assert str(info.value) == f"{lock} does not pin {TOOLS}: run buildxpy pin"
    assert fake.calls == []


def test_a_context_the_user_gave_for_the_same_name_wins(fake: FakeRunner, context: Path) -> None:
    write_lock(context / "buildxpy.lock", {APP: Pin(A, BOTH)})
    mine = {TOOLS: "docker-image://reg.example/mine@" + B, APP: "../local-app"}
    prepared = prepare_bases(spec(context, build_contexts=mine), fake)
    assert prepared.build_contexts == mine


def test_without_a_lock_builds_float(fake: FakeRunner, context: Path) -> None:
    prepared = prepare_bases(spec(context, preflight=False), fake)
    assert prepared.build_contexts == {}


def test_a_pinned_base_without_a_target_platform_is_refused_from_the_lock(
    fake: FakeRunner, context: Path
) -> None:
    write_lock(context / "buildxpy.lock",
               {APP: Pin(A, {"linux/amd64": B}), TOOLS: Pin(B, BOTH)})  # fmt: skip
    with pytest.raises(
        BuildxpyError, match=rf"{APP} \(pinned in buildxpy.lock\) has no linux/arm64"
    ):
        prepare_bases(spec(context), fake)
    assert fake.calls == []


def test_a_malformed_lock_stops_the_build_in_one_line(fake: FakeRunner, context: Path) -> None:
    (context / "buildxpy.lock").write_text("[bases\n")
    with pytest.raises(ConfigError, match=r"buildxpy.lock:1: not TOML"):
        prepare_bases(spec(context, preflight=False), fake)


def test_a_lock_that_cannot_apply_is_said(fake: FakeRunner, tmp_path: Path) -> None:
    write_lock(tmp_path / "buildxpy.lock", {APP: Pin(A, BOTH)})
    remote = spec(tmp_path, context="https://example.com/repo.git")
    with capture_logs() as logs:
        assert prepare_bases(remote, fake) == remote
    [warned] = [e["event"] for e in logs if e["log_level"] == "warning"]
    assert warned == (
        "bases not pinned: buildxpy cannot read this build's Dockerfile, so buildxpy.lock "
        "does not apply"
    )
