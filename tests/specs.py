"""The export operations driven from ``Settings``, as the command line drives them: tests state
their cases as configuration."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from buildxpy.builds.argv import export_argv
from buildxpy.docker.runner import Runner
from buildxpy.exports import tarballs as exporting
from buildxpy.platforms.names import Platform
from buildxpy.settings.handoff import spec_from_settings
from buildxpy.settings.model import Settings


def export(
    settings: Settings,
    platforms: Sequence[Platform] | None = None,
    runner: Runner | None = None,
    *,
    load: bool = False,
) -> list[exporting.ExportResult]:
    return exporting.export_images(spec_from_settings(settings), platforms, runner, load=load)


def plan(settings: Settings, platforms: Sequence[Platform]) -> list[exporting.PlannedExport]:
    return exporting.plan(spec_from_settings(settings), platforms)


def build_argv(
    settings: Settings, item: exporting.PlannedExport, dest: Path, *, progress: str | None = None
) -> list[str]:
    spec = spec_from_settings(settings)
    return export_argv(spec, item.platform, item.tags, dest, progress=progress)
