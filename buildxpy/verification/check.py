"""`buildxpy verify`: prove a pushed multi-platform image is what it claims, without running it.

1. The index lists exactly the expected platforms (attestation manifests aside).
2. Each image's config names the platform its index entry names.
3. The binary each image's entrypoint runs (found on its PATH, through symlinks and ``#!``
   interpreters, ``/bin/sh`` when there is none) is an ELF binary of that platform.

Manifests and configs come from ``docker buildx imagetools inspect``; each image's file system
streams from one ``docker buildx build`` (``buildxpy.verification.files``).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from buildxpy import log
from buildxpy.docker.models import ImageConfig, load_json
from buildxpy.docker.runner import Runner
from buildxpy.errors import CommandFailed, ConfigError
from buildxpy.manifests.registry import (
    Fetched,
    Reference,
    fetch,
    image_config_argv,
    normalized,
    parse_reference,
    registry_failure,
)
from buildxpy.platforms.elf import check, expected_for
from buildxpy.platforms.names import Platform, parse
from buildxpy.verification.entrypoint import ImageTree, Need, Resolution, command, resolve
from buildxpy.verification.files import read_tree
from buildxpy.verification.report import PlatformVerdict, VerificationFailed, VerifyReport

CONFIG_READERS = 4
# Images whose file systems are read at once (each one `docker buildx build` streaming a tar).
FILE_READERS = 4


@dataclass(slots=True)
class _Entry:
    """One platform's image in the index (or the lone manifest)."""

    platform: str  # as the index entry names it
    digest: str
    image: str  # REPO@digest
    config: ImageConfig | None = None
    report: PlatformVerdict | None = None


def verify(
    ref: str,
    platforms: Sequence[Platform | str] | None = None,
    *,
    builder: str = "buildxpy",
    runner: Runner | None = None,
) -> VerifyReport:
    """Check that ``ref`` holds what it claims; ``platforms``: the exact set expected (None: any).

    Returns the report, mismatches included (``report.ok``, ``report.raise_for_mismatch()``);
    raises only when the image cannot be read.
    """
    target = parse_reference(ref)
    expected = None if platforms is None else _expected(platforms)
    runner = runner or Runner()
    fetched = fetch(runner, ref, builder)
    entries, duplicates = _entries(fetched, Reference(target.repository))
    _read_configs(runner, entries, builder)
    if fetched.index is None:
        assert entries[0].config is not None
        entries[0].platform = normalized(entries[0].config.platform_text)
    for entry in entries:
        entry.report = _config_report(entry, lone=fetched.index is None)
    _check_binaries(runner, builder, entries)
    reports = [e.report for e in entries if e.report is not None]
    notes: list[str] = []
    if expected is None:
        notes.append("platform set not checked: no expected platforms given")
    else:
        reports = _check_set(reports, expected, duplicates, is_index=fetched.is_index)
    for item in reports:
        if item.problems and item.status == "ok":
            item.status = "mismatch"
    report = VerifyReport(
        ref=ref, digest=fetched.digest, media_type=fetched.media_type,
        is_index=fetched.is_index, expected=expected, platforms=reports, notes=notes,
    )  # fmt: skip
    _log(report)
    return report


def _entries(fetched: Fetched, repository: Reference) -> tuple[list[_Entry], list[str]]:
    """One entry per image (the lone manifest's platform is filled in from its config), and the
    platforms an index lists more than once."""
    if fetched.index is None:
        return [_Entry("", fetched.digest, str(repository.at(fetched.digest)))], []
    entries: list[_Entry] = []
    duplicates: list[str] = []
    for descriptor in fetched.index.images:
        if descriptor.platform is None:
            continue  # an artifact or signature, no image of a platform
        entry = _Entry(
            normalized(descriptor.platform.text),
            descriptor.digest,
            str(repository.at(descriptor.digest)),
        )
        if any(e.platform == entry.platform for e in entries):
            duplicates.append(entry.platform)
        entries.append(entry)
    return entries, duplicates


def _log(report: VerifyReport) -> None:
    logger = log.get()
    if report.ok:
        logger.info("verified", ref=report.ref, digest=report.digest,
                    platforms=[p.platform for p in report.platforms])  # fmt: skip
    else:
        # The caller decides whether that is an error (and says so once): only logged here.
        logger.info("verification failed", ref=report.ref, digest=report.digest,
                    mismatches=report.mismatches)  # fmt: skip


def _expected(platforms: Sequence[Platform | str]) -> list[str]:
    out: list[str] = []
    for item in platforms:
        text = normalized(str(item))
        if text not in out:
            out.append(text)
    if not out:
        raise ConfigError("no platforms to expect: give at least one, or None to accept any")
    return out


def _read_configs(runner: Runner, entries: list[_Entry], builder: str) -> None:
    def read(entry: _Entry) -> ImageConfig:
        try:
            result = runner.run(*image_config_argv(entry.image, builder))
        except CommandFailed as exc:
            raise registry_failure(entry.image, exc) from None
        return load_json(ImageConfig, result.stdout, what=f"the image config of {entry.image}")

    if len(entries) == 1:
        entries[0].config = read(entries[0])
        return
    with ThreadPoolExecutor(max_workers=min(CONFIG_READERS, len(entries))) as pool:
        for entry, config in zip(entries, pool.map(read, entries), strict=True):
            entry.config = config


def _config_report(entry: _Entry, *, lone: bool) -> PlatformVerdict:
    assert entry.config is not None
    config_platform = normalized(entry.config.platform_text)
    report = PlatformVerdict(
        platform=entry.platform, digest=entry.digest, config_platform=config_platform,
        command=command(entry.config.config),
    )  # fmt: skip
    if not lone and config_platform != entry.platform:
        report.problems.append(
            f"the index says {entry.platform} but the image config says {config_platform or 'nothing'}"
        )
    return report


def _check_binaries(runner: Runner, builder: str, entries: list[_Entry]) -> None:
    """Resolve every platform's entrypoint in its image's file system, read concurrently."""
    todo: list[_Entry] = []
    for entry in entries:
        assert entry.report is not None
        platform = _platform(entry.platform)
        if platform is None or expected_for(platform.os, platform.arch, platform.variant) is None:
            entry.report.notes.append(
                f"{entry.platform or 'this platform'} has no ELF binaries to check"
            )
        else:
            todo.append(entry)
    if not todo:
        return

    def one(entry: _Entry) -> Resolution:
        assert entry.config is not None
        config = entry.config.config

        def enough(tree: ImageTree) -> bool:
            return not isinstance(resolve(config, tree), Need)

        tree = read_tree(runner, builder, entry.image, _from_platform(entry), enough=enough)
        outcome = resolve(config, tree)
        assert not isinstance(outcome, Need), "a finished tree decides every path"
        return outcome

    if len(todo) == 1:
        _record(todo[0], one(todo[0]))
        return
    with ThreadPoolExecutor(max_workers=min(FILE_READERS, len(todo))) as pool:
        try:
            for entry, resolution in zip(todo, pool.map(one, todo), strict=True):
                _record(entry, resolution)
        except BaseException:
            runner.interrupt_all()
            raise


def _record(entry: _Entry, resolution: Resolution) -> None:
    report = entry.report
    assert report is not None
    platform = _platform(entry.platform)
    assert platform is not None
    report.chain = [str(step) for step in resolution.steps]
    report.notes += resolution.notes
    for step in resolution.steps:
        if step.error:
            report.problems.append(f"{step.shown}: unreadable ELF header ({step.error})")
        if step.elf is None:
            continue
        verdict = check(step.elf, platform.os, platform.arch, platform.variant)
        report.problems += [f"{step.shown} is {problem}" for problem in verdict.problems]
        report.notes += [f"{step.shown}: {note}" for note in verdict.notes]
    binary = resolution.binary
    if binary is not None:
        report.binary, report.elf = binary.shown, binary.what
    elif not resolution.steps or all(s.elf is None and not s.error for s in resolution.steps):
        report.notes.append("no ELF binary in the image to check (data only?)")


def _check_set(
    reports: list[PlatformVerdict], expected: list[str], duplicates: list[str], *, is_index: bool
) -> list[PlatformVerdict]:
    present = [r.platform for r in reports]
    for report in reports:
        if report.platform not in expected:
            report.status = "extra"
            report.problems.insert(0, f"not among the expected platforms ({', '.join(expected)})")
        elif report.platform in duplicates:
            report.problems.insert(0, "listed more than once in the index")
    if not is_index and len(expected) > 1:
        reports[0].problems.insert(0, "a single-platform image, not an index")
    missing = [
        PlatformVerdict(platform=p, status="missing", problems=["missing from the index"])
        for p in expected
        if p not in present
    ]
    order = {p: i for i, p in enumerate(expected)}
    return sorted([*reports, *missing], key=lambda r: order.get(r.platform, len(order)))


def _platform(text: str) -> Platform | None:
    try:
        return parse(text) if text else None
    except ConfigError:
        return None


def _from_platform(entry: _Entry) -> str | None:
    """The platform the reading build's FROM asks for: the image's own claim."""
    assert entry.report is not None
    for text in (entry.report.config_platform, entry.platform):
        platform = _platform(text or "")
        if platform is not None:
            return str(platform)
    return None


__all__ = ["PlatformVerdict", "VerificationFailed", "VerifyReport", "verify"]
