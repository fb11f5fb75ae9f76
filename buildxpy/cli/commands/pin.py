"""``buildxpy pin``: the Dockerfile's base images, by digest, in ``buildxpy.lock``; ``--check``
for a scheduled job, ``--update`` to move the pins."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from buildxpy.cli.commands._common import (
    JsonArgs,
    add_command,
    add_json_flag,
    load_settings,
    make_runner,
    print_json,
)

if TYPE_CHECKING:
    from buildxpy.docker.runner import Runner
    from buildxpy.errors import BuildxpyError
    from buildxpy.pins.changes import Finding, Outcome
    from buildxpy.pins.lockfile import Pin
    from buildxpy.settings.model import Settings

# The builder a build uses when none is named; it may not exist before `builder setup`.
DEFAULT_BUILDER = "buildxpy"


@dataclass(frozen=True, kw_only=True, slots=True)
class PinArgs(JsonArgs):
    check: bool = False
    update: bool = False


@dataclass(frozen=True, slots=True)
class _Job:
    """What every mode works from: the lock's place and pins, and the Dockerfile's bases."""

    lock: Path
    pinned: dict[str, Pin] | None
    refs: list[str]
    runner: Runner
    builder: str


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        subparsers, common, "pin", PinArgs, run,
        "write the Dockerfile's base images, by digest, to buildxpy.lock; builds then use them",
    )  # fmt: skip
    # Not all the build flags: their `--check` is `--call check`.
    parser.add_argument("context", nargs="?", metavar="CONTEXT", help="build context (default: .)")
    parser.add_argument("-f", "--file", dest="dockerfile", metavar="DOCKERFILE")
    parser.add_argument("--target", help="stage to build")
    parser.add_argument("--build-arg", action="append", dest="build_args", metavar="K=V")
    parser.add_argument("--build-context", action="append", dest="build_contexts",
                        metavar="NAME=VALUE", help="a named context stands in for its base")  # fmt: skip
    parser.add_argument("--platform", action="append", dest="platforms", metavar="P[,P…]",
                        help="the platforms the bases are read for (default: configured)")  # fmt: skip
    parser.add_argument("--builder", dest="builder_name", metavar="NAME",
                        help="builder whose registry settings apply (default: buildxpy)")  # fmt: skip
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="exit 1 naming every base that moved or is not pinned")  # fmt: skip
    mode.add_argument("--update", action="store_true",
                      help="move every pin to what the registry serves now")  # fmt: skip
    add_json_flag(parser)


def run(args: PinArgs) -> int:
    from buildxpy.errors import ConfigError
    from buildxpy.pins.lockfile import read_lock

    settings = load_settings(args)
    lock = settings.lock_file
    if lock is None:  # pragma: no cover - load always sets it
        raise ConfigError("no place for buildxpy.lock")
    refs = _refs(settings)
    job = _Job(lock, read_lock(lock), refs, make_runner(args), settings.builder.name)
    return _check(args, job) if args.check else _pin(args, job)


def _refs(settings: Settings) -> list[str]:
    """The bases a build of these settings pulls; one named by digest needs no pin."""
    from buildxpy.builds.bases import base_refs
    from buildxpy.builds.spec import BuildSpec

    spec = BuildSpec(
        platforms=tuple(settings.platforms), context=settings.context,
        dockerfile=settings.dockerfile, target=settings.target, build_args=settings.build_args,
        build_contexts=settings.declared()["build_contexts"],
    )  # fmt: skip
    return sorted(ref for ref in base_refs(spec) if "@" not in ref)


def _read(job: _Job, refs: list[str]) -> dict[str, Pin | BuildxpyError]:
    from buildxpy.pins.resolve import read_each

    return read_each(job.runner, refs, job.builder,
                     optional_builder=job.builder == DEFAULT_BUILDER)  # fmt: skip


def _check(args: PinArgs, job: _Job) -> int:
    from buildxpy.errors import BuildxpyError, ConfigError
    from buildxpy.pins.changes import check

    if job.pinned is None:
        raise ConfigError(f"pin --check: there is no {job.lock}: run buildxpy pin")
    answers = _read(job, [ref for ref in job.refs if ref in job.pinned])
    findings = check(job.pinned, answers, job.refs)
    failed = [f for f in findings if f.status != "holds"]
    if args.json:
        print_json({"lock_file": str(job.lock), "ok": not failed, "bases": _findings(findings)})
    if failed:
        raise BuildxpyError(f"pin --check: {'; '.join(f.line() for f in failed)}")
    if not args.json:
        print(f"pin --check: all {len(findings)} base(s) hold the digests {job.lock.name} pins")
    return 0


def _findings(findings: list[Finding]) -> dict[str, dict[str, str | None]]:
    return {
        f.ref: {"status": f.status, "locked": f.locked, "now": f.now, "reason": f.reason}
        for f in findings
    }


def _pin(args: PinArgs, job: _Job) -> int:
    from buildxpy.pins.changes import add_missing, update
    from buildxpy.pins.lockfile import write_lock
    from buildxpy.pins.resolve import resolve

    before = job.pinned or {}
    asked = job.refs if args.update else [ref for ref in job.refs if ref not in before]
    current = resolve(job.runner, asked, job.builder,
                      optional_builder=job.builder == DEFAULT_BUILDER)  # fmt: skip
    outcome = update(before, current) if args.update else add_missing(before, current)
    changed = job.pinned is None or outcome.pins != before
    if changed and not args.dry_run:
        write_lock(job.lock, outcome.pins)
    if args.json:
        print_json(_as_json(job, outcome, written=changed and not args.dry_run))
    else:
        _show(job, outcome)
    if changed and args.dry_run:
        print(f"pin: --dry-run: {job.lock} not written", file=sys.stderr)
    return 0


def _as_json(job: _Job, outcome: Outcome, *, written: bool) -> dict[str, object]:
    def change(ref: str) -> str:
        return "added" if ref in outcome.added else "moved" if ref in outcome.moved else "kept"

    bases = {
        ref: {"digest": outcome.pins[ref].digest, "platforms": dict(outcome.pins[ref].platforms),
              "change": change(ref)}
        for ref in job.refs
    }  # fmt: skip
    return {"lock_file": str(job.lock), "written": written, "bases": bases,
            "dropped": list(outcome.dropped)}  # fmt: skip


def _show(job: _Job, outcome: Outcome) -> None:
    from buildxpy.pins.changes import short

    for ref in job.refs:
        note = ""
        if ref in outcome.moved:
            note = f"  (was {short(outcome.moved[ref])})"
        elif ref in outcome.added and job.pinned is not None:
            note = "  (added)"
        print(f"{ref}  {outcome.pins[ref].digest}{note}")
    # What is not a base of this Dockerfile goes to stderr: stdout stays one line a base.
    if outcome.dropped:
        print(f"pin: dropped from {job.lock.name}, no longer used: "
              f"{', '.join(outcome.dropped)}", file=sys.stderr)  # fmt: skip
    if not job.refs:
        print("pin: the Dockerfile names no base image to pin", file=sys.stderr)
