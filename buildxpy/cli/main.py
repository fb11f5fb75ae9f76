"""Command line: argparse sub-commands, the one error boundary, exit codes.

Only argparse and the light command modules load before a command runs, so ``--help`` and
``--version`` stay fast; each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import NoReturn

from buildxpy._version import __version__

# Each module under buildxpy.cli.commands adds its sub-commands with `register(subparsers, common)`.
COMMAND_MODULES = (
    "builder",
    "build",
    "export",
    "load",
    "manifest",
    "release",
    "verify",
    "login",
    "doctor",
    "qemu",
    "merge",
    "pin",
    "rebuild_check",
)
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("global options")
    group.add_argument("--config", metavar="PATH", default=default(None),
                       help="config file (default: ./buildxpy.toml, else [tool.buildxpy] in ./pyproject.toml)")  # fmt: skip
    group.add_argument("--log-format", choices=("auto", "console", "json"), default=default("auto"),
                       help="log format on stderr (default: console on a terminal, else JSON lines)")  # fmt: skip
    group.add_argument("-v", "--verbose", action="count", default=default(0),
                       help="more log output (repeatable)")  # fmt: skip
    group.add_argument("-q", "--quiet", action="store_true", default=default(False),
                       help="only warnings and errors on stderr")  # fmt: skip
    group.add_argument("--dry-run", action="store_true", default=default(False),
                       help="print the mutating docker commands instead of running them")  # fmt: skip


def _command_in(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv``, found without parsing it all."""
    words = iter(argv)
    for word in words:
        if word in ("--config", "--log-format"):
            next(words, None)
        elif word == "--":
            return None
        elif not word.startswith("-"):
            return word if word in COMMAND_MODULES else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """All sub-commands; given ``argv``, only the one it runs is built in full (the others are
    names), which keeps start-up short."""
    parser = argparse.ArgumentParser(
        prog="buildxpy",
        description="Multi-architecture Docker images with docker buildx: builders, builds, "
        "per-platform exports and manifest lists.",
    )
    parser.add_argument("--version", action="version", version=f"buildxpy {__version__}")
    _global_options(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, suppress=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = _command_in(argv) if argv is not None else None
    # `--version` without a command answers before any sub-command is parsed: names suffice.
    version_only = argv is not None and wanted is None and "--version" in argv
    for name in COMMAND_MODULES:
        if not version_only and (wanted is None or name == wanted):
            importlib.import_module(f"buildxpy.cli.commands.{name}").register(subparsers, common)
        else:
            subparsers.add_parser(name)
    return parser


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


def run() -> NoReturn:
    """The console entry point: ``main`` and then a quick exit.

    Tearing down the interpreter (pydantic's schemas, every module) takes longer than most docker
    commands buildxpy wraps; all output is flushed and every temporary file is already removed by
    then, so the process ends at once.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            code = code or EXIT_ERROR
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    from buildxpy.docker.input_text import argv_problem

    # Bytes that are not UTF-8 could reach neither docker nor a message: refused before parsing.
    problem = argv_problem(argv)
    if problem is not None:
        print(f"buildxpy: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    args = build_parser(argv).parse_args(argv)
    from buildxpy import log, redact
    from buildxpy.errors import BuildxpyError

    verbosity = -1 if args.quiet else args.verbose
    log.configure(args.log_format, verbosity)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return int(args.func(args) or EXIT_OK)
    except BuildxpyError as exc:
        print(f"buildxpy: error: {redact.text(exc.message)}", file=sys.stderr)
        for line in redact.lines(exc.details):
            print(f"  {line}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("buildxpy: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception as exc:
        if args.verbose:
            import traceback

            traceback.print_exc()
        print(
            f"buildxpy: error: this is a bug in buildxpy: {type(exc).__name__}: "
            f"{redact.text(str(exc))}"
            + ("" if args.verbose else " (run with -v for the traceback)"),
            file=sys.stderr,
        )
        return EXIT_ERROR
    finally:
        signal.signal(signal.SIGTERM, previous)
