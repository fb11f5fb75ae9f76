"""Text from outside that docker cannot be given: bytes that are not UTF-8, and command lines longer
than the kernel takes. Each is found before a process starts and told in one line."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from buildxpy.errors import ConfigError

# Linux refuses one argument or environment string longer than this (MAX_ARG_STRLEN, 32 pages,
# its closing NUL included), whatever the total limit.
MAX_ARG_BYTES = 32 * 4096 - 1
_POINTER = 8


def is_utf8(text: str) -> bool:
    """False for text Python read from non-UTF-8 bytes (argv, environment, file names): their
    bytes are kept as lone surrogates, which cannot be encoded back to UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(text: str) -> str:
    """The text quoted, its non-UTF-8 bytes written as ``\\xff`` (printable on any terminal)."""
    raw = text.encode("utf-8", "surrogateescape")
    return "'" + raw.decode("ascii", "backslashreplace") + "'"


def argv_problem(argv: Sequence[str]) -> str | None:
    """The first command-line argument that is not UTF-8, named by its option when it is one's
    value."""
    for index, arg in enumerate(argv):
        if is_utf8(arg):
            continue
        before = argv[index - 1] if index else ""
        name = before if before.startswith("-") and "=" not in before else f"{index + 1}"
        option, eq, value = arg.partition("=")
        if arg.startswith("--") and eq and is_utf8(option):
            return f"argument {option} is not UTF-8 text: {shown(value)}"
        return f"argument {name} is not UTF-8 text: {shown(arg)}"
    return None


def check_environ(name: str, value: str, *, secret: bool = False) -> None:
    if not is_utf8(value):
        raise ConfigError(f"{name} is not UTF-8 text" + ("" if secret else f": {shown(value)}"))


def utf8_error(path: Path, exc: UnicodeDecodeError, what: str = "file") -> ConfigError:
    """``PATH:LINE: not UTF-8 text``, for a file whose bytes ``exc`` failed on."""
    data = exc.object
    line = bytes(data[: exc.start]).count(b"\n") + 1
    return ConfigError(
        f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the {what} as UTF-8"
    )


def check_command(argv: Sequence[str], env: Mapping[str, str], input_: str | None) -> None:
    """Refuse a docker command that could not start (or be fed) as given."""
    command = f"`{' '.join(argv[:3])}` command"
    for index, arg in enumerate(argv[1:], start=1):
        if not is_utf8(arg):
            raise ConfigError(f"docker argument {index} is not UTF-8 text: {shown(arg)}")
    for name, value in env.items():
        check_environ(name, value, secret=True)
    if input_ is not None and not is_utf8(input_):
        raise ConfigError("the text for docker's standard input is not UTF-8")
    for index, arg in enumerate(argv[1:], start=1):
        size = len(arg.encode())
        if size > MAX_ARG_BYTES:
            before = argv[index - 1]
            which = (
                f"the argument after {before}" if before.startswith("-") else f"argument {index}"
            )
            raise ConfigError(
                f"the {command} is too long for this system: {which} is {size} bytes, "
                f"more than {MAX_ARG_BYTES}"
            )
    total = _exec_size(argv, {**os.environ, **env})
    limit = _arg_max()
    if total > limit:
        raise ConfigError(
            f"the {command} is too long for this system: {total} bytes of arguments and "
            f"environment, more than {limit}"
        )


def _exec_size(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """What the kernel counts against ARG_MAX: each string with its NUL, and a pointer to each."""
    strings = [*argv, *(f"{k}={v}" for k, v in env.items())]
    return sum(len(s.encode("utf-8", "surrogateescape")) + 1 + _POINTER for s in strings)


def _arg_max() -> int:
    try:
        return int(os.sysconf("SC_ARG_MAX"))
    except (ValueError, OSError):
        return 128 * 1024
