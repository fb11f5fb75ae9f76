from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from buildxpy.cli import main as cli
from buildxpy.errors import BuildxpyError
from tests.fakes import FakeRunner


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("buildxpy ")


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["no-such-command"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_global_flags_work_after_the_command(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_fake.on("version", stdout='{"Client":{"Version":"28.2.2"},"Server":{"Version":"26.1.5"}}\n')
    cli.main(["doctor", "--json", "--log-format", "json", "-q", "--platform", "linux/amd64"])
    report = json.loads(capsys.readouterr().out)
    assert report["checks"][0] == {"name": "docker", "status": "ok", "detail": "docker CLI 28.2.2"}


def test_expected_error_is_one_line_with_details(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(args: object) -> int:
        raise BuildxpyError("it went wrong", details=["docker said: no"])

    monkeypatch.setattr(cli, "build_parser", _parser_with_handler(boom))
    assert cli.main(["doctor"]) == 1
    assert capsys.readouterr().err == "buildxpy: error: it went wrong\n  docker said: no\n"


def test_bug_says_so_without_traceback_unless_verbose(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def bug(args: object) -> int:
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(cli, "build_parser", _parser_with_handler(bug))
    assert cli.main(["doctor"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "buildxpy: error: this is a bug in buildxpy: ZeroDivisionError: oops "
        "(run with -v for the traceback)\n"
    )
    assert cli.main(["doctor", "-v"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_keyboard_interrupt_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", _parser_with_handler(interrupted))
    assert cli.main(["doctor"]) == 130
    assert capsys.readouterr().err == "buildxpy: interrupted\n"


def test_config_error_is_exit_1_before_any_docker_call(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["doctor", "--platform", "linux/arm65"]) == 1
    assert capsys.readouterr().err == (
        "buildxpy: error: invalid configuration: platforms: "
        "unknown architecture 'arm65' in platform 'linux/arm65'\n"
    )
    assert cli_fake.calls == []


def test_sigterm_exits_130_and_stops_the_child(tmp_path: Path) -> None:
    """A real process: SIGTERM to buildxpy while a docker child runs."""
    fake_docker = tmp_path / "docker"
    started = tmp_path / "started"
    stopped = tmp_path / "stopped"
    fake_docker.write_text(
        f"#!/bin/sh\ntrap 'touch {stopped}; exit 130' INT TERM\ntouch {started}\nsleep 60 & wait\n"
    )
    fake_docker.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "buildxpy", "doctor", "--platform", "linux/amd64"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    for _ in range(200):
        if started.exists():
            break
        subprocess.run(["sleep", "0.05"], check=True)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err.strip().endswith("buildxpy: interrupted")
    assert stopped.exists()


def _parser_with_handler(handler: object) -> object:
    real = cli.build_parser

    def build(argv: object = None) -> object:
        parser = real()
        parser.set_defaults(func=handler)
        for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
            for sub in action.choices.values():  # type: ignore[union-attr]
                sub.set_defaults(func=handler)
        return parser

    return build


@pytest.mark.parametrize("group", ["builder", "manifest", "qemu"])
def test_a_command_group_without_an_action_is_a_usage_error(
    group: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([group])
    assert info.value.code == 2
    assert "the following arguments are required: ACTION" in capsys.readouterr().err


def test_failed_checks_go_through_the_one_error_boundary(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_fake.on("version", exit_code=1, stderr="Cannot connect to the Docker daemon\n")
    cli_fake.on("buildx", "version", stdout="github.com/docker/buildx v0.30.0 abc\n")
    assert cli.main(["doctor", "--platform", "linux/amd64"]) == 1
    out, err = capsys.readouterr()
    assert "FAIL  daemon" in out
    assert err.splitlines()[-1] == "buildxpy: error: checks failed: daemon"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--platform", "linux/bogus"], "unknown architecture 'bogus'"),
        (["-t", "bad tag!"], "bad tag!"),
        (["--image", ""], "image"),
    ],
)
def test_refused_values_exit_1_with_one_line_and_no_docker_call(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    """A value read and refused is an error (1), as `docker buildx build` has it; 2 is kept for a
    command line that cannot be parsed. The README's exit-code text says the same."""
    code = cli.main(["build", "--image", "127.0.0.1:5000/app", *args, "."])
    err = capsys.readouterr().err
    assert code == 1, err
    [line] = [x for x in err.splitlines() if x.startswith("buildxpy: error:")]
    assert fragment in line
    assert cli_fake.calls == []
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "`--platform linux/bogus`, `-t 'bad tag!'`, `--image ''`" in readme
