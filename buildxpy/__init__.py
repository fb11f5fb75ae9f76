"""buildxpy: multi-architecture Docker images with docker buildx.

The public API is loaded on first use so that ``buildxpy --version`` imports neither sh nor
pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from buildxpy._version import __version__

if TYPE_CHECKING:
    from buildxpy.build import BuildResult, build
    from buildxpy.builders import (
        Builder,
        Node,
        inspect_builder,
        list_builders_info,
        remove_builder,
        setup_builder,
        stop_builder,
        use_builder,
    )
    from buildxpy.doctor import Check, DoctorReport, doctor
    from buildxpy.errors import (
        BuilderNotFound,
        BuildxpyError,
        CommandFailed,
        CommandTimeout,
        ConfigError,
        DockerNotFound,
        ImageNotFound,
        RegistryError,
    )
    from buildxpy.export import ExportResult, LoadResult, export, load_tarballs
    from buildxpy.login import LoginResult, login
    from buildxpy.manifest import (
        ManifestInfo,
        ManifestResult,
        PlatformManifest,
        ReleaseResult,
        manifest_create,
        manifest_create_from_spec,
        manifest_inspect,
        release,
    )
    from buildxpy.platforms import Platform
    from buildxpy.qemu import QemuResult, qemu_install
    from buildxpy.runner import Result, Runner
    from buildxpy.settings import BuilderConfig, NodeConfig, Settings
    from buildxpy.settings import load as load_settings

# name -> "module" or "module:attribute"
_EXPORTS = {
    "BuildResult": "buildxpy.build",
    "build": "buildxpy.build",
    "Builder": "buildxpy.builders",
    "Node": "buildxpy.builders",
    "inspect_builder": "buildxpy.builders",
    "list_builders_info": "buildxpy.builders",
    "remove_builder": "buildxpy.builders",
    "setup_builder": "buildxpy.builders",
    "stop_builder": "buildxpy.builders",
    "use_builder": "buildxpy.builders",
    "Check": "buildxpy.doctor",
    "DoctorReport": "buildxpy.doctor",
    "doctor": "buildxpy.doctor",
    "BuilderNotFound": "buildxpy.errors",
    "BuildxpyError": "buildxpy.errors",
    "CommandFailed": "buildxpy.errors",
    "CommandTimeout": "buildxpy.errors",
    "ConfigError": "buildxpy.errors",
    "DockerNotFound": "buildxpy.errors",
    "ImageNotFound": "buildxpy.errors",
    "RegistryError": "buildxpy.errors",
    "ExportResult": "buildxpy.export",
    "LoadResult": "buildxpy.export",
    "export": "buildxpy.export",
    "load_tarballs": "buildxpy.export",
    "login": "buildxpy.login",
    "LoginResult": "buildxpy.login",
    "ManifestInfo": "buildxpy.manifest",
    "ManifestResult": "buildxpy.manifest",
    "PlatformManifest": "buildxpy.manifest",
    "ReleaseResult": "buildxpy.manifest",
    "manifest_create": "buildxpy.manifest",
    "manifest_create_from_spec": "buildxpy.manifest",
    "manifest_inspect": "buildxpy.manifest",
    "release": "buildxpy.manifest",
    "Platform": "buildxpy.platforms",
    "QemuResult": "buildxpy.qemu",
    "qemu_install": "buildxpy.qemu",
    "Result": "buildxpy.runner",
    "Runner": "buildxpy.runner",
    "BuilderConfig": "buildxpy.settings",
    "NodeConfig": "buildxpy.settings",
    "Settings": "buildxpy.settings",
    "load_settings": "buildxpy.settings:load",
}

__all__ = [
    "BuildResult",
    "Builder",
    "BuilderConfig",
    "BuilderNotFound",
    "BuildxpyError",
    "Check",
    "CommandFailed",
    "CommandTimeout",
    "ConfigError",
    "DockerNotFound",
    "DoctorReport",
    "ExportResult",
    "ImageNotFound",
    "LoadResult",
    "LoginResult",
    "ManifestInfo",
    "ManifestResult",
    "Node",
    "NodeConfig",
    "Platform",
    "PlatformManifest",
    "QemuResult",
    "RegistryError",
    "ReleaseResult",
    "Result",
    "Runner",
    "Settings",
    "__version__",
    "build",
    "doctor",
    "export",
    "inspect_builder",
    "list_builders_info",
    "load_settings",
    "load_tarballs",
    "login",
    "manifest_create",
    "manifest_create_from_spec",
    "manifest_inspect",
    "qemu_install",
    "release",
    "remove_builder",
    "setup_builder",
    "stop_builder",
    "use_builder",
]


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'buildxpy' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr or name)
    globals()[name] = value
    return value
