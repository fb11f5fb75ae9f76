"""`buildxpy login`: `docker login --password-stdin`; the password never reaches an argv or a log."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from buildxpy import log, redact
from buildxpy.docker.input_text import check_environ
from buildxpy.docker.runner import Runner
from buildxpy.errors import CommandFailed, ConfigError
from buildxpy.result_model import ResultModel

PASSWORD_ENV = "BUILDXPY_REGISTRY_PASSWORD"  # noqa: S105 - a variable name, not a value
# A registry host[:port] with an optional path, as `docker login` takes it; never an option.
_REGISTRY = re.compile(r"^(?:https?://)?[A-Za-z0-9\[][A-Za-z0-9.:\[\]-]*(?:/[^\s]*)?$")


class LoginResult(ResultModel):
    registry: str
    username: str
    dry_run: bool = False


def password_from(stdin_text: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The password from standard input when asked for, else from ``BUILDXPY_REGISTRY_PASSWORD``."""
    if stdin_text is not None:
        # `echo secret |` adds a newline that is not part of the password.
        password = stdin_text.rstrip("\r\n")
        redact.add_secret(password)
        if not password:
            raise ConfigError("no password: standard input was empty")
        return password
    password = (os.environ if environ is None else environ).get(PASSWORD_ENV, "")
    check_environ(PASSWORD_ENV, password, secret=True)
    redact.add_secret(password)
    if not password:
        raise ConfigError(f"no password: pipe it in on standard input or set {PASSWORD_ENV}")
    return password


def login(registry: str, username: str, password: str, runner: Runner | None = None) -> LoginResult:
    redact.add_secret(password)
    runner = runner or Runner()
    _check(registry, username, password)
    try:
        result = runner.run(
            "login", "--username", username, "--password-stdin", registry,
            mutating=True, input=password, timeout=120,
        )  # fmt: skip
    except CommandFailed as exc:
        raise exc.restated(
            f"login to {registry} as {username!r} failed (exit code {exc.exit_code})"
        ) from None
    if not result.dry_run:
        log.get().info("logged in", registry=registry, username=username)
    return LoginResult(registry=registry, username=username, dry_run=result.dry_run)


def _check(registry: str, username: str, password: str) -> None:
    if not _REGISTRY.match(registry):
        raise ConfigError(f"invalid registry {registry!r}: expected host[:port], e.g. ghcr.io")
    if not username.strip() or username.startswith("-") or any(c.isspace() for c in username):
        raise ConfigError(f"invalid user name {username!r}")
    if not password:
        raise ConfigError("no password given")
