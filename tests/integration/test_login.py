"""`buildxpy login` against the bed's htpasswd registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Bed, docker, run_cli


@pytest.fixture
def auth(bed: Bed, docker_config: Path) -> Iterator[tuple[str, str, str]]:
    registry = bed["BUILDXPY_BED_AUTH_REGISTRY"]
    yield registry, bed["BUILDXPY_BED_AUTH_USER"], bed["BUILDXPY_BED_AUTH_PASSWORD"]
    docker("logout", registry, check=False)


def stored_logins(docker_config: Path) -> set[str]:
    config = docker_config / "config.json"
    if not config.is_file():
        return set()
    return set(json.loads(config.read_text()).get("auths", {}))


def test_login_with_password_on_stdin(auth: tuple[str, str, str], docker_config: Path) -> None:
    registry, user, password = auth
    result = run_cli(
        "--log-format", "json", "-v", "login", registry, "-u", user, "--password-stdin",
        input=password + "\n",
    )  # fmt: skip
    assert result.returncode == 0, str(result)
    assert registry in stored_logins(docker_config)
    assert result.stdout == ""
    assert password not in result.stderr
    [call] = [json.loads(line) for line in result.stderr.splitlines() if '"docker"' in line]
    assert call["argv"] == ["docker", "login", "--username", user, "--password-stdin", registry]


def test_login_with_password_from_environment(
    auth: tuple[str, str, str], docker_config: Path
) -> None:
    registry, user, password = auth
    result = run_cli("login", registry, "-u", user, env={"BUILDXPY_REGISTRY_PASSWORD": password})
    assert result.returncode == 0, str(result)
    assert registry in stored_logins(docker_config)
    assert password not in result.stdout + result.stderr


def test_wrong_password_fails_cleanly(auth: tuple[str, str, str], docker_config: Path) -> None:
    registry, user, _ = auth
    wrong = "definitely-not-the-password-7731"
    result = run_cli("--log-format", "json", "-v", "login", registry, "-u", user,
                     "--password-stdin", input=wrong)  # fmt: skip
    assert result.returncode == 1
    assert registry not in stored_logins(docker_config)
    errors = [line for line in result.stderr.splitlines() if line.startswith("buildxpy:")]
    assert errors == [f"buildxpy: error: login to {registry} as '{user}' failed (exit code 1)"]
    assert wrong not in result.stdout + result.stderr


def test_no_password_fails_before_docker(auth: tuple[str, str, str], docker_config: Path) -> None:
    registry, user, _ = auth
    result = run_cli("--log-format", "json", "-v", "login", registry, "-u", user, input="")
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["buildxpy: error: no password: standard input was empty"]


def test_login_with_a_piped_password_as_the_readme_shows(
    auth: tuple[str, str, str], docker_config: Path
) -> None:
    """`echo "$TOKEN" | buildxpy login REGISTRY -u USER`, no --password-stdin."""
    registry, user, password = auth
    result = run_cli("login", registry, "-u", user, input=password + "\n")
    assert result.returncode == 0, str(result)
    assert registry in stored_logins(docker_config)
    assert password not in result.stdout + result.stderr
