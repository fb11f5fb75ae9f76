"""The shape of the build inputs buildxpy passes through to ``docker buildx build`` (``--ssh``,
``--build-context``, ``--attest``, ``--annotation``, ``--call``, ``--add-host``, ``--allow``,
``--shm-size``, ``--ulimit``, ``secret_envs``): refused here with one line that names the value,
rather than by buildx after a builder has started. Only the form is checked; what a value points at
(a socket, a key file, an environment variable) is checked by ``check_present`` when a command is
about to build."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from buildxpy.errors import ConfigError

ANNOTATION_LEVELS = ("manifest", "index", "manifest-descriptor", "index-descriptor")
# `--call` methods buildx knows (0.15+); `subrequests.describe` lists them.
CALL_METHODS = ("build", "check", "outline", "targets", "subrequests.describe")
ULIMIT_NAMES = frozenset({
    "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
    "rss", "rtprio", "rttime", "sigpending", "stack",
})  # fmt: skip
ATTEST_TYPES = frozenset({"sbom", "provenance"})

# Patterns are strings: `re` compiles each on first use and keeps it, so an import compiles none.
_ID = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_ANNOTATION = (
    r"(?s)^(?:(?P<level>[a-z-]+)(?:\[(?P<platforms>[^\]]+)\])?:)?"
    r"(?P<key>[^=:\s][^=\s]*)=(?P<value>.*)$"
)
_HOST = r"^[A-Za-z0-9_.-]+$"
_SHM = r"^[0-9]+(?:\.[0-9]+)?(?:[bkmgtBKMGT](?:[bB]|i[bB])?)?$"
_ULIMIT = r"^(?P<name>[a-z]+)=(?P<soft>-?[0-9]+)(?::(?P<hard>-?[0-9]+))?$"
# An entitlement: `network.host`, `security.insecure`, and newer ones with a value (`fs.read=/x`,
# `device=…`); buildx itself decides which its version knows.
_ENTITLEMENT = r"^[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)*(?:=.+)?$"
_STAGE = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"


def check_ssh(value: str) -> str:
    """``default``, ``ID``, ``ID=SOCKET`` or ``ID=KEY[,KEY…]``."""
    ident, eq, paths = value.partition("=")
    if not re.match(_ID, ident) or (eq and not all(p.strip() for p in paths.split(","))):
        raise ValueError(f"invalid ssh {value!r}: expected default or ID[=SOCKET|KEY[,KEY]]")
    return value


def check_build_context(name: str, value: str) -> str:
    if not name or any(c.isspace() or c == "=" for c in name) or not value.strip():
        raise ValueError(
            f"invalid build context {name}={value!r}: expected NAME=PATH|docker-image://REF|"
            "oci-layout://PATH|target:STAGE|URL"
        )
    return value


def check_attest(value: str) -> str:
    fields = dict(_pair(part, value, "attest") for part in value.split(","))
    kind = fields.get("type")
    if kind not in ATTEST_TYPES:
        raise ValueError(f"invalid attest {value!r}: expected type=sbom|provenance[,KEY=VALUE…]")
    return value


def check_annotation(value: str) -> str:
    """``[LEVEL[PLATFORMS]:]KEY=VALUE`` with LEVEL one of buildx's four."""
    match = re.match(_ANNOTATION, value)
    if match is None or (match["level"] and match["level"] not in ANNOTATION_LEVELS):
        raise ValueError(
            f"invalid annotation {value!r}: expected [manifest|index|manifest-descriptor|"
            "index-descriptor:]KEY=VALUE"
        )
    return value


def annotation_parts(value: str) -> tuple[str, str, str]:
    """(level with any platform part, key, value); no level means ``manifest``, as buildx has it."""
    match = re.match(_ANNOTATION, value)
    if match is None:
        raise ValueError(f"invalid annotation {value!r}")
    level = match["level"] or "manifest"
    if match["platforms"]:
        level += f"[{match['platforms']}]"
    return level, match["key"], match["value"]


def check_call(value: str) -> str:
    if value not in CALL_METHODS:
        raise ValueError(f"invalid call {value!r}: expected one of {', '.join(CALL_METHODS)}")
    return value


def check_add_host(value: str) -> str:
    """``HOST:IP`` (buildx's form everywhere) or ``HOST=IP`` (newer buildx)."""
    sep = "=" if "=" in value else ":"
    host, _, address = value.partition(sep)
    if not re.match(_HOST, host) or not address.strip():
        raise ValueError(f"invalid add-host {value!r}: expected HOST:IP")
    return value


def check_allow(value: str) -> str:
    if not re.match(_ENTITLEMENT, value):
        raise ValueError(
            f"invalid allow {value!r}: expected an entitlement such as network.host or "
            "security.insecure"
        )
    return value


def check_shm_size(value: str) -> str:
    if not re.match(_SHM, value):
        raise ValueError(f"invalid shm-size {value!r}: expected a size such as 2g or 512m")
    return value


def check_ulimit(value: str) -> str:
    match = re.match(_ULIMIT, value)
    if match is None or match["name"] not in ULIMIT_NAMES:
        raise ValueError(
            f"invalid ulimit {value!r}: expected NAME=SOFT[:HARD] with NAME one of "
            f"{', '.join(sorted(ULIMIT_NAMES))}"
        )
    if (
        match["hard"] is not None
        and int(match["hard"]) != -1
        and int(match["soft"]) > int(match["hard"])
    ):
        raise ValueError(f"invalid ulimit {value!r}: the soft limit is above the hard limit")
    return value


def check_stage(value: str) -> str:
    if not re.match(_STAGE, value):
        raise ValueError(f"invalid no-cache-filter {value!r}: expected a stage name")
    return value


def check_secret_env(ident: str, variable: str) -> None:
    if not re.match(_ID, ident) or not re.match(_ENV_NAME, variable):
        raise ValueError(
            f"invalid secret env {ident}={variable}: expected ID=ENVVAR (a variable's name, "
            "never its value)"
        )


def secret_env_specs(secret_envs: Mapping[str, str]) -> list[str]:
    """``secret_envs`` as the ``--secret`` values buildx takes; the values stay in the environment."""
    return [f"id={ident},env={variable}" for ident, variable in secret_envs.items()]


def check_present(
    ssh: Iterable[str], build_contexts: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> None:
    """What the inputs point at, just before a build: the ssh agent socket and key files, and the
    local directories named as build contexts."""
    environ = os.environ if environ is None else environ
    for value in ssh:
        ident, eq, paths = value.partition("=")
        if not eq:
            if not environ.get("SSH_AUTH_SOCK"):
                raise ConfigError(f"ssh {ident!r}: no ssh agent (SSH_AUTH_SOCK is not set)")
            continue
        for path in paths.split(","):
            if not Path(path).exists():
                raise ConfigError(f"ssh {ident!r}: {path} does not exist")
    for name, value in build_contexts.items():
        if _is_local(value) and not Path(value).is_dir():
            raise ConfigError(f"build context {name!r}: {value} is not a directory")


def _is_local(value: str) -> bool:
    if "://" in value or value.startswith(("target:", "git@")):
        return False
    # A remote git context without a scheme (`github.com/org/repo.git#ref`).
    return not value.endswith(".git") and "#" not in value


def _pair(part: str, whole: str, what: str) -> tuple[str, str]:
    key, eq, val = part.partition("=")
    if not eq or not key.strip():
        raise ValueError(f"invalid {what} {whole!r}: expected KEY=VALUE[,KEY=VALUE…]")
    return key.strip(), val
