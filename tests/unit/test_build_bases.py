"""Which builds ask the registry for their bases first, and with what."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildxpy.builds.bases import prepare_bases
from buildxpy.builds.spec import BuildSpec
from buildxpy.platforms.names import parse
from buildxpy.preflight import PreflightFailed
from tests.fakes import FakeRunner

RECORDED = Path(__file__).parents[1] / "data" / "recorded"
PLATFORMS = (parse("linux/amd64"), parse("linux/ppc64le"))


@pytest.fixture
def context(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text("ARG BASE=reg.example/base:1\nFROM $BASE\n")
    return tmp_path


def spec(where: Path, **values: object) -> BuildSpec:
    fields: dict[str, object] = {"platforms": PLATFORMS, "context": str(where),
                                 "preflight": True, "builder": "b1"}  # fmt: skip
    return BuildSpec(**{**fields, **values})  # type: ignore[arg-type]


def serve_two_platforms(fake: FakeRunner, ref: str) -> None:
    index = (RECORDED / "imagetools-raw-v0.29.1-index.json").read_text()  # amd64, arm64
    fake.on("buildx", "imagetools", "inspect", ref, "--raw", stdout=index)


def test_a_base_without_a_target_platform_refuses(fake: FakeRunner, context: Path) -> None:
    serve_two_platforms(fake, "reg.example/base:1")
    with pytest.raises(PreflightFailed, match=r"reg\.example/base:1 has no linux/ppc64le"):
        prepare_bases(spec(context), fake)
    assert all("--builder" in call.args and "b1" in call.args for call in fake.calls)


def test_the_build_arguments_name_the_base(fake: FakeRunner, context: Path) -> None:
    serve_two_platforms(fake, "reg.example/other:2")
    with pytest.raises(PreflightFailed, match=r"reg\.example/other:2 has no"):
        prepare_bases(spec(context, build_args={"BASE": "reg.example/other:2"}), fake)


def test_a_bare_build_argument_takes_its_value_from_the_environment(
    fake: FakeRunner, context: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASE", "reg.example/env:3")
    serve_two_platforms(fake, "reg.example/env:3")
    with pytest.raises(PreflightFailed, match=r"reg\.example/env:3 has no"):
        prepare_bases(spec(context, build_args={"BASE": None}), fake)


def test_export_checks_the_platforms_it_builds(fake: FakeRunner, context: Path) -> None:
    serve_two_platforms(fake, "reg.example/base:1")
    prepare_bases(spec(context), fake, [parse("linux/amd64")])


@pytest.mark.parametrize(
    "values",
    [{"preflight": False}, {"call": "check"}, {"context": "https://example.com/repo.git"},
     {"dockerfile": "missing/Dockerfile"}],
    ids=["off", "call", "remote-context", "unreadable-dockerfile"],
)  # fmt: skip
def test_nothing_is_asked(fake: FakeRunner, context: Path, values: dict[str, object]) -> None:
    prepare_bases(spec(context, **values), fake)
    assert fake.calls == []


def test_a_dockerfile_given_with_f_is_read_from_there(
    fake: FakeRunner, context: Path, tmp_path: Path
) -> None:
    other = tmp_path / "elsewhere.Dockerfile"
    other.write_text("FROM reg.example/named:4\n")
    serve_two_platforms(fake, "reg.example/named:4")
    with pytest.raises(PreflightFailed, match=r"reg\.example/named:4 has no"):
        prepare_bases(spec(context, dockerfile=str(other)), fake)
