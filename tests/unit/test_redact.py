from __future__ import annotations

import pytest

from buildxpy import redact


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (
            ["docker", "login", "-u", "me", "-p", "hunter22"],
            ["docker", "login", "-u", "me", "-p", "***"],
        ),
        (["docker", "login", "--password=hunter22"], ["docker", "login", "--password=***"]),
        (["--build-arg", "NPM_TOKEN=abc123"], ["--build-arg", "NPM_TOKEN=***"]),
        (["--build-arg", "DB_PASSWORD=abc"], ["--build-arg", "DB_PASSWORD=***"]),
        (["--build-arg", "VERSION=1.2"], ["--build-arg", "VERSION=1.2"]),
        (["--secret", "id=npm,env=NPM_TOKEN"], ["--secret", "id=npm,env=NPM_TOKEN"]),
        (["--secret", "id=npm,src=/run/npmrc"], ["--secret", "id=npm,src=/run/npmrc"]),
        (
            ["context", "create", "x", "--docker", "host=ssh://me:pw1234@box"],
            ["context", "create", "x", "--docker", "host=ssh://me:***@box"],
        ),
        (["-t", "ghp_" + "a" * 36], ["-t", "***"]),
    ],
)
def test_argv_redaction(argv: list[str], shown: list[str]) -> None:
    assert redact.argv(argv) == shown


def test_registered_secrets_are_masked_everywhere() -> None:
    redact.add_secret("correct-horse-battery")
    assert redact.argv(["x", "correct-horse-battery"]) == ["x", "***"]
    assert redact.argv(["--label", "note=correct-horse-battery!"]) == ["--label", "note=***!"]
    assert redact.text("error: bad password correct-horse-battery") == "error: bad password ***"
    assert redact.lines(["a correct-horse-battery b"]) == ["a *** b"]


def test_short_secrets_are_masked_only_as_whole_arguments() -> None:
    redact.add_secret("ab")
    assert redact.argv(["ab"]) == ["***"]
    assert redact.text("about") == "about"


def test_secret_with_trailing_newline_is_masked_without_it() -> None:
    redact.add_secret("pa55word\n")
    assert redact.text("got pa55word") == "got ***"


def test_authorization_headers() -> None:
    assert redact.text("Authorization: Bearer abc.def") == "Authorization: Bearer ***"


def test_clear() -> None:
    redact.add_secret("temporary-secret")
    redact.clear_secrets()
    assert redact.text("temporary-secret") == "temporary-secret"
