"""Malformed and hostile input, given as a user gives it: each is one `buildxpy: error:` line and
exit 1 (2 for usage), within seconds, with nothing half-written and no "this is a bug"."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from buildxpy.cli import main as cli
from buildxpy.docker.runner import Runner
from buildxpy.errors import ConfigError
from tests.fakes import FakeRunner

REPO = Path(__file__).resolve().parents[2]
LONG_NAME = "b" * 300


@dataclass
class Ran:
    code: int
    out: str
    err: str
    seconds: float

    @property
    def error_line(self) -> str:
        lines = [line for line in self.err.splitlines() if line.startswith("buildxpy: ")]
        assert len(lines) == 1, self.err
        return lines[0]


def buildxpy(
    *args: str | bytes,
    cwd: Path,
    env: Mapping[str, str | bytes] | None = None,
    stdin: bytes = b"",
) -> Ran:
    """``python -m buildxpy ARGS`` in its own process, bytes allowed where a shell allows them."""
    environ: dict[str | bytes, str | bytes] = {
        k: v for k, v in os.environ.items() if not k.startswith("BUILDXPY_")
    }
    environ["PYTHONPATH"] = str(REPO)
    environ.update(env or {})
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "buildxpy", *args],
        cwd=cwd, env=environ, input=stdin, capture_output=True, timeout=60, check=False,  # type: ignore[arg-type]
    )  # fmt: skip
    return Ran(
        proc.returncode,
        proc.stdout.decode(errors="replace"),
        proc.stderr.decode(errors="replace"),
        time.monotonic() - started,
    )


def refused(ran: Ran, line: str, code: int = 1) -> None:
    assert ran.error_line == line, ran.err
    assert ran.code == code, ran.err
    assert "this is a bug" not in ran.err
    assert "Traceback" not in ran.err
    assert ran.seconds < 20


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY Dockerfile /\n")
    return tmp_path


# -- bytes that are not UTF-8 -----------------------------------------------------------------


def test_flag_value_not_utf8(project: Path) -> None:
    ran = buildxpy("--dry-run", "build", ".", "--image", "reg/app", "--target", b"\xff",
                   cwd=project)  # fmt: skip
    refused(ran, r"buildxpy: error: argument --target is not UTF-8 text: '\xff'", code=2)
    assert ran.out == ""


def test_environment_value_not_utf8(project: Path) -> None:
    ran = buildxpy(
        "--dry-run", "export", ".", "--image", "reg/app", "--platform", "linux/amd64",
        cwd=project, env={"BUILDXPY_OUTPUT_DIR": b"/tmp/x-\xff"},
    )  # fmt: skip
    refused(ran, r"buildxpy: error: BUILDXPY_OUTPUT_DIR is not UTF-8 text: '/tmp/x-\xff'")
    assert ran.out == ""


def test_config_file_not_utf8(project: Path) -> None:
    (project / "buildxpy.toml").write_bytes(b'image = "reg/app"\ntarget = "\xff"\n')
    ran = buildxpy("--dry-run", "build", ".", cwd=project)
    refused(
        ran,
        f"buildxpy: error: {project / 'buildxpy.toml'}:2: not UTF-8 text (byte 0xff); "
        "save the file as UTF-8",
    )


def test_archs_file_not_utf8(project: Path) -> None:
    (project / "docker").mkdir()
    (project / "docker" / "archs").write_bytes(b"amd64\n\xff\n")
    ran = buildxpy("--dry-run", "build", ".", "--image", "reg/app", cwd=project)
    refused(
        ran,
        f"buildxpy: error: {project / 'docker' / 'archs'}:2: not UTF-8 text (byte 0xff); "
        "save the file as UTF-8",
    )


def test_spec_file_not_utf8(project: Path) -> None:
    (project / "spec.yaml").write_bytes(b"image: reg/app:1\nmanifests:\n  - image: a\xff\n")
    ran = buildxpy("--dry-run", "manifest", "create", "--from-spec", "spec.yaml", cwd=project)
    refused(ran, "buildxpy: error: spec.yaml:3: not UTF-8 text (byte 0xff); save the spec as UTF-8")


def test_password_on_stdin_not_utf8_fails_at_once(project: Path) -> None:
    ran = buildxpy("login", "127.0.0.1:5001", "-u", "U", "--password-stdin",
                   cwd=project, stdin=b"\xff\xfepw\n")  # fmt: skip
    refused(ran, "buildxpy: error: the password on standard input is not UTF-8 text")
    assert ran.seconds < 10


def test_password_in_the_environment_not_utf8_fails_at_once(project: Path) -> None:
    ran = buildxpy("login", "127.0.0.1:5001", "-u", "U",
                   cwd=project, env={"BUILDXPY_REGISTRY_PASSWORD": b"\xff\xfepw"})  # fmt: skip
    refused(ran, "buildxpy: error: BUILDXPY_REGISTRY_PASSWORD is not UTF-8 text")
    assert "pw" not in ran.err


def test_runner_refuses_text_docker_cannot_be_given(fake: FakeRunner) -> None:
    with pytest.raises(ConfigError, match=r"^docker argument 3 is not UTF-8 text: '\\xff'$"):
        fake.run("build", "--target", "\udcff")
    with pytest.raises(ConfigError, match=r"^the text for docker's standard input is not UTF-8"):
        fake.run("login", "--password-stdin", input="\udcffpw")
    assert fake.calls == []


# -- pyproject.toml and docker's JSON ---------------------------------------------------------


def test_tool_is_not_a_table_in_pyproject(project: Path) -> None:
    (project / "pyproject.toml").write_text("tool = 3\n")
    ran = buildxpy("--dry-run", "build", ".", "--image", "reg/app", cwd=project)
    refused(ran, f"buildxpy: error: {project / 'pyproject.toml'}: `tool` is not a table")


def test_malformed_buildx_ls_json(cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]) -> None:
    cli_fake.on("buildx", "ls", stdout='{"Name": "default", "Nodes": [\n')
    assert cli.main(["builder", "ls"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith(
        "buildxpy: error: docker buildx ls --format json, line 1: not valid JSON"
    )


# -- buildkitd flags with an unbalanced quote -------------------------------------------------


def test_unbalanced_quote_in_the_buildkitd_flags_flag(project: Path) -> None:
    ran = buildxpy("--dry-run", "builder", "setup", "--buildkitd-flags", '"', cwd=project)
    refused(ran, "buildxpy: error: invalid buildkitd flags '\"': No closing quotation")


def test_unbalanced_quote_in_a_nodes_buildkitd_flags(project: Path) -> None:
    ran = buildxpy("--dry-run", "builder", "setup", "--node", 'n1=unix:///x.sock;buildkitd-flags="x',
                   cwd=project)  # fmt: skip
    refused(ran, "buildxpy: error: node 'n1': invalid buildkitd flags '\"x': No closing quotation")


def test_unbalanced_quote_in_the_config_file(project: Path) -> None:
    (project / "buildxpy.toml").write_text('[builder]\nbuildkitd_flags = "--debug \\"x"\n')
    ran = buildxpy("--dry-run", "builder", "setup", cwd=project)
    refused(ran, "buildxpy: error: invalid buildkitd flags '--debug \"x': No closing quotation")


# -- names and places the system cannot hold --------------------------------------------------


def test_overlong_builder_name(project: Path) -> None:
    ran = buildxpy("--dry-run", "builder", "setup", "--builder", LONG_NAME, cwd=project)
    refused(
        ran,
        f"buildxpy: error: invalid configuration: builder.name: builder name {LONG_NAME[:20]}… "
        "is 300 characters long; use at most 100",
    )


def test_docker_config_that_cannot_be_written(project: Path) -> None:
    ran = buildxpy("builder", "setup", "--builder", "abc", "--no-bootstrap",
                   cwd=project, env={"DOCKER_CONFIG": "/sys/x"})  # fmt: skip
    assert ran.error_line.startswith("buildxpy: error: cannot write to DOCKER_CONFIG (/sys/x): ")
    refused(ran, ran.error_line)


def test_a_build_argument_longer_than_the_system_allows(
    project: Path,
    cli_fake: FakeRunner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (project / "buildxpy.toml").write_text(f'image = "reg/app"\ntarget = "{"t" * 200_000}"\n')
    monkeypatch.chdir(project)
    assert cli.main(["build", "--platform", "linux/amd64"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        "buildxpy: error: the `docker buildx build` command is too long for this system: "
        "the argument after --target is 200000 bytes, more than 131071"
    )
    assert cli_fake.calls == []


def test_the_limit_for_one_argument_is_the_kernels(project: Path) -> None:
    echo = Runner(docker="/bin/echo")
    assert echo.run("x" * 131_071).ok
    with pytest.raises(ConfigError, match=r"argument 1 is 131072 bytes, more than 131071$"):
        echo.run("x" * 131_072)


def test_a_command_line_longer_than_the_system_allows(project: Path) -> None:
    echo = Runner(docker="/bin/echo")
    total = os.sysconf("SC_ARG_MAX")
    with pytest.raises(ConfigError, match=r"command is too long for this system: \d+ bytes"):
        echo.run(*["y" * 100_000] * (total // 100_000 + 1))
    assert echo.run(*["y" * 100_000] * 3).ok


def test_a_long_builder_name_from_the_api_fits_the_lock_and_state_files(tmp_path: Path) -> None:
    from buildxpy.builders.state import BuilderState, builder_lock, load_state, save_state

    with builder_lock(tmp_path, LONG_NAME):
        save_state(tmp_path, LONG_NAME, BuilderState(contexts={"n1": "unix:///n1.sock"}))
    assert load_state(tmp_path, LONG_NAME).contexts == {"n1": "unix:///n1.sock"}
    assert load_state(tmp_path, LONG_NAME + "x").contexts == {}
    names = [p.name for p in (tmp_path / "buildxpy").rglob("*") if p.is_file()]
    assert len(names) == 2
    assert all(len(n) <= 125 and n.startswith("b" * 100) for n in names)
