"""buildxpy: multi-architecture Docker images with docker buildx.

The public API is loaded lazily so that ``buildxpy --version`` imports neither sh nor pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from buildxpy._version import __version__

if TYPE_CHECKING:
    from buildxpy.doctor import Check, DoctorReport, doctor
    from buildxpy.errors import (
        BuilderNotFound,
        BuildxpyError,
        CommandFailed,
        CommandTimeout,
        ConfigError,
        DockerNotFound,
    )
    from buildxpy.platforms import Platform
    from buildxpy.qemu import QemuResult, qemu_install
    from buildxpy.runner import Result, Runner
    from buildxpy.settings import BuilderConfig, NodeConfig, Settings
    from buildxpy.settings import load as load_settings

_EXPORTS = {
    "BuildxpyError": "buildxpy.errors",
    "BuilderNotFound": "buildxpy.errors",
    "CommandFailed": "buildxpy.errors",
    "CommandTimeout": "buildxpy.errors",
    "ConfigError": "buildxpy.errors",
    "DockerNotFound": "buildxpy.errors",
    "Platform": "buildxpy.platforms",
    "Runner": "buildxpy.runner",
    "Result": "buildxpy.runner",
    "Settings": "buildxpy.settings",
    "BuilderConfig": "buildxpy.settings",
    "NodeConfig": "buildxpy.settings",
    "load_settings": "buildxpy.settings:load",
    "doctor": "buildxpy.doctor",
    "Check": "buildxpy.doctor",
    "DoctorReport": "buildxpy.doctor",
    "qemu_install": "buildxpy.qemu",
    "QemuResult": "buildxpy.qemu",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'buildxpy' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr or name)
    globals()[name] = value
    return value
