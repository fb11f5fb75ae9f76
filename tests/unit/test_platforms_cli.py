"""A platform buildx (or buildxpy) refuses stops the command before any docker process starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildxpy.cli import main as cli
from tests.fakes import FakeRunner
from tests.unit.test_platforms import REFUSED, ROWS

REFUSED_INPUTS = [r.given for r in ROWS if r.buildxpy.startswith(REFUSED)]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY Dockerfile /\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_table_refuses_enough_to_matter() -> None:
    assert len(REFUSED_INPUTS) >= 20
    assert "linux/arm64/v8.2" in REFUSED_INPUTS


@pytest.mark.parametrize("command", ["build", "export"])
@pytest.mark.parametrize("platform", REFUSED_INPUTS)
def test_no_docker_process_for_a_refused_platform_flag(
    cli_fake: FakeRunner,
    project: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    platform: str,
) -> None:
    code = cli.main([command, ".", "--image", "reg.example/app", "--platform",
                     f"linux/amd64,{platform}"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.startswith("buildxpy: error: ")
    assert len(err.strip().splitlines()) == 1
    assert "bug" not in err
    assert cli_fake.find("buildx", "build") == []
    assert cli_fake.calls == []


@pytest.mark.parametrize("platform", ["linux/arm64/v8.2", "linux/arm65", "linux/arm/v9"])
def test_no_docker_process_for_a_refused_platform_from_the_environment_or_archs(
    cli_fake: FakeRunner,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    platform: str,
) -> None:
    monkeypatch.setenv("BUILDXPY_PLATFORMS", f"linux/amd64,{platform}")
    assert cli.main(["build", ".", "--image", "reg.example/app"]) == 1
    assert platform in capsys.readouterr().err
    monkeypatch.delenv("BUILDXPY_PLATFORMS")
    (project / "docker").mkdir()
    (project / "docker" / "archs").write_text(f"amd64\n{platform}\n")
    assert cli.main(["export", ".", "--image", "reg.example/app"]) == 1
    assert "docker/archs:2: " in capsys.readouterr().err
    assert cli_fake.calls == []


def test_no_docker_process_for_a_refused_builder_platform(
    cli_fake: FakeRunner, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(
        ["builder", "setup", "--node", "n1=unix:///run/n1.sock;platforms=linux/arm64/v8.2"]
    )
    assert code == 1
    assert "'v8.2' is an invalid component" in capsys.readouterr().err
    assert cli_fake.calls == []
