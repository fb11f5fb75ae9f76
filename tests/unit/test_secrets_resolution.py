"""Secrets are resolved by the commands that pass them to docker, and by no other."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildxpy import redact
from buildxpy.builds.secrets import parse_secret, resolve_secrets
from buildxpy.cli import main as cli
from buildxpy.errors import ConfigError
from tests.fakes import FakeRunner

UNSET = "BUILDXPY_TEST_SECRET_UNSET"
INDEX = (
    Path(__file__).parent.parent / "data" / "imagetools-raw-index-attestations.json"
).read_text()


@pytest.fixture
def unrelated_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose config names a secret from a variable that is not set here."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(UNSET, raising=False)
    (tmp_path / "buildxpy.toml").write_text(
        f'image = "127.0.0.1:5000/app"\nsecrets = ["id=npm,env={UNSET}"]\n'
    )
    return tmp_path


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("id=npm,env=NPM_TOKEN", ("npm", None, "NPM_TOKEN")),
        ("id=f,src=token.txt", ("f", "token.txt", None)),
        ("id=f,source=token.txt", ("f", "token.txt", None)),
        ("type=env,id=GH", ("GH", None, "GH")),
    ],
)
def test_parse_secret(spec: str, expected: tuple[str, str | None, str | None]) -> None:
    secret = parse_secret(spec)
    assert (secret.id, secret.src, secret.env) == expected


def test_resolution_refuses_what_docker_would_fail_on(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"secret 'npm': environment variable {UNSET} is not"):
        resolve_secrets([f"id=npm,env={UNSET}"], {})
    with pytest.raises(ConfigError, match="secret 'f': file /nonexistent/file does not exist"):
        resolve_secrets(["id=f,src=/nonexistent/file"], {})


def test_resolution_registers_values_for_redaction() -> None:
    resolve_secrets(["id=npm,env=TOKEN_VAR"], {"TOKEN_VAR": "s3cr3t-value-123"})
    assert redact.text("token is s3cr3t-value-123") == "token is ***"


def test_unrelated_commands_ignore_an_unset_secret_variable(
    unrelated_secret: Path, cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_fake.on("buildx", "ls", stdout='{"Name":"default","Driver":"docker","Nodes":[]}\n')
    cli_fake.on("buildx", "imagetools", "inspect", stdout=INDEX)
    assert cli.main(["builder", "inspect", "default"]) == 0
    assert cli.main(["--dry-run", "release", "v1"]) == 0
    assert "error" not in capsys.readouterr().err


def test_build_refuses_the_unset_secret_before_any_docker_call(
    unrelated_secret: Path, cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--dry-run", "build"]) == 1
    assert capsys.readouterr().err == (
        f"buildxpy: error: secret 'npm': environment variable {UNSET} is not set\n"
    )
    assert cli.main(["export", "--platform", "linux/amd64"]) == 1
    assert cli_fake.calls == []
