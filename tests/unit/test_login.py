from __future__ import annotations

import io
import json

import pytest

from buildxpy import redact
from buildxpy.cli import main as cli
from buildxpy.docker.runner import Completed
from buildxpy.errors import BuildxpyError, CommandFailed, ConfigError
from buildxpy.manifests.login import PASSWORD_ENV, login, password_from
from tests.fakes import Call, FakeRunner

PASSWORD = "hunter2-correct-horse"


def test_password_from_stdin_drops_the_trailing_newline() -> None:
    assert password_from(f"{PASSWORD}\n") == PASSWORD
    assert password_from(f"{PASSWORD}\r\n") == PASSWORD
    assert password_from(" spaced pw ") == " spaced pw "


def test_password_from_environment() -> None:
    assert password_from(None, {PASSWORD_ENV: PASSWORD}) == PASSWORD


@pytest.mark.parametrize(
    ("stdin", "environ", "message"),
    [
        (None, {}, f"pipe it in on standard input or set {PASSWORD_ENV}"),
        (None, {PASSWORD_ENV: ""}, f"set {PASSWORD_ENV}"),
        ("\n", {PASSWORD_ENV: PASSWORD}, "standard input was empty"),
    ],
)
def test_no_password_is_a_clear_error(
    stdin: str | None, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        password_from(stdin, environ)


def test_password_goes_through_stdin_only(fake: FakeRunner) -> None:
    result = login("127.0.0.1:5001", "bob", PASSWORD, fake)
    assert result.registry == "127.0.0.1:5001"
    [call] = fake.calls
    assert call.args == ["login", "--username", "bob", "--password-stdin", "127.0.0.1:5001"]
    assert call.input == PASSWORD
    assert PASSWORD not in " ".join(call.argv)


def test_wrong_password_is_one_line_without_the_password(fake: FakeRunner) -> None:
    fake.on(
        "login",
        exit_code=1,
        stderr=f"Error response from daemon: login attempt to http://127.0.0.1:5001/v2/ failed "
        f'with status: 401 Unauthorized (tried "{PASSWORD}")\n',
    )
    with pytest.raises(BuildxpyError) as caught:
        login("127.0.0.1:5001", "bob", PASSWORD, fake)
    error = caught.value
    assert str(error) == "login to 127.0.0.1:5001 as 'bob' failed (exit code 1)"
    assert "401 Unauthorized" in " ".join(error.details)
    assert PASSWORD not in str(error) + " ".join(error.details)
    assert isinstance(error, CommandFailed)
    assert error.exit_code == 1
    assert error.argv[:2] == ["docker", "login"]


@pytest.mark.parametrize(
    ("registry", "user", "message"),
    [
        ("--password=x", "bob", "invalid registry"),
        ("bad host", "bob", "invalid registry"),
        ("127.0.0.1:5001", "-p", "invalid user name"),
        ("127.0.0.1:5001", "", "invalid user name"),
    ],
)
def test_bad_input_runs_no_docker(fake: FakeRunner, registry: str, user: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        login(registry, user, PASSWORD, fake)
    assert fake.calls == []


def cli_login(fake: FakeRunner, monkeypatch: pytest.MonkeyPatch, stdin: str, *argv: str) -> int:
    monkeypatch.setattr("buildxpy.cli.commands.login.make_runner", lambda args: fake)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(["--log-format", "json", "-v", *argv])


def test_cli_password_stdin(
    fake: FakeRunner, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_login(
        fake,
        monkeypatch,
        PASSWORD + "\n",
        "login",
        "127.0.0.1:5001",
        "-u",
        "bob",
        "--password-stdin",
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert out == ""
    assert fake.calls[0].input == PASSWORD
    events = [json.loads(line) for line in err.splitlines()]
    assert [e["event"] for e in events] == ["docker", "logged in"]
    assert PASSWORD not in err


def test_cli_password_from_environment(fake: FakeRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    assert cli_login(fake, monkeypatch, "", "login", "r.example", "-u", "bob") == 0
    assert fake.calls[0].input == PASSWORD


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_on_a_terminal_without_password_fails_before_docker(
    fake: FakeRunner, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("buildxpy.cli.commands.login.make_runner", lambda args: fake)
    monkeypatch.setattr("sys.stdin", Terminal("typed\n"))
    code = cli.main(["login", "r.example", "-u", "bob"])
    err = capsys.readouterr().err
    assert (code, fake.calls) == (1, [])
    assert err.strip().splitlines()[-1] == (
        f"buildxpy: error: no password: pipe it in on standard input or set {PASSWORD_ENV}"
    )


def test_cli_piped_password_without_the_flag(
    fake: FakeRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli_login(fake, monkeypatch, PASSWORD + "\n", "login", "r.example", "-u", "bob") == 0
    assert fake.calls[0].input == PASSWORD
    assert PASSWORD not in fake.calls[0].argv


def test_cli_empty_pipe_is_one_clear_error(
    fake: FakeRunner, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_login(fake, monkeypatch, "", "login", "r.example", "-u", "bob") == 1
    assert fake.calls == []
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "buildxpy: error: no password: standard input was empty"
    )


def test_cli_wrong_password_output_has_no_password(
    fake: FakeRunner, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def echo_input(call: Call) -> Completed:
        return Completed(1, stderr=f"unauthorized: bad credentials {call.input}\n")

    fake.on("login", answer=echo_input)
    code = cli_login(
        fake, monkeypatch, PASSWORD, "login", "127.0.0.1:5001", "-u", "bob", "--password-stdin"
    )
    out, err = capsys.readouterr()
    assert code == 1
    assert "buildxpy: error: login to 127.0.0.1:5001 as 'bob' failed" in err
    assert "unauthorized: bad credentials ***" in err
    assert PASSWORD not in out + err


def test_cli_dry_run_prints_login_without_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dry = FakeRunner(dry_run=True)
    code = cli_login(
        dry,
        monkeypatch,
        PASSWORD,
        "--dry-run",
        "login",
        "r.example",
        "-u",
        "bob",
        "--password-stdin",
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert dry.calls == []
    assert out == "docker login --username bob --password-stdin r.example\n"
    assert PASSWORD not in out + err


def test_password_is_registered_for_redaction() -> None:
    password_from(PASSWORD + "\n")
    assert redact.text(f"x {PASSWORD} y") == "x *** y"
