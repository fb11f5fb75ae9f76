"""``--secret`` values: their form is checked with the configuration; what they point at is
checked, and registered for redaction, only by the commands that hand them to docker."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from buildxpy import redact
from buildxpy.errors import ConfigError

_KEYS = frozenset({"id", "src", "source", "env", "type"})


@dataclass(frozen=True, slots=True)
class SecretSpec:
    id: str
    src: str | None = None
    env: str | None = None


def parse_secret(spec: str) -> SecretSpec:
    """``id=ID,src=PATH`` or ``id=ID,env=VAR`` (``type=env`` with no ``env`` reads ``ID``)."""
    usage = f"invalid secret {spec!r}: expected id=ID,src=PATH or id=ID,env=VAR"
    fields: dict[str, str] = {}
    for part in spec.split(","):
        key, eq, val = part.partition("=")
        if not eq or not key or not val:
            raise ValueError(usage)
        fields[key.strip()] = val.strip()
    if set(fields) - _KEYS or "id" not in fields:
        raise ValueError(usage)
    src = fields.get("src") or fields.get("source")
    env = fields.get("env")
    if fields.get("type") == "env" and not env:
        env = fields["id"]
    if bool(src) == bool(env):
        raise ValueError(f"invalid secret {spec!r}: give exactly one of src= or env=")
    return SecretSpec(fields["id"], src, env)


def resolve_secrets(specs: Iterable[str], environ: Mapping[str, str] | None = None) -> None:
    """Refuse a secret whose variable is unset or whose file is missing, before docker runs; mask
    every value passed through the environment in all later output."""
    environ = os.environ if environ is None else environ
    for spec in specs:
        try:
            secret = parse_secret(spec)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if secret.env is not None:
            if secret.env not in environ:
                raise ConfigError(
                    f"secret {secret.id!r}: environment variable {secret.env} is not set"
                )
            redact.add_secret(environ[secret.env])
        elif secret.src is not None and not Path(secret.src).is_file():
            raise ConfigError(f"secret {secret.id!r}: file {secret.src} does not exist")
