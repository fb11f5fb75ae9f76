"""buildxpy: multi-architecture Docker images with docker buildx.

The public API is loaded on first use so that ``buildxpy --version`` imports neither sh nor
pydantic; ``dir(buildxpy)`` and ``help(buildxpy)`` list it all the same.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from buildxpy._version import __version__

if TYPE_CHECKING:
    from buildxpy.api import (
        build,
        doctor,
        export,
        pin,
        rebuild_check,
        routing_plan,
        setup_builder,
        verify,
    )
    from buildxpy.builders.buildkitd_config import BuildkitdTable
    from buildxpy.builders.doctor import Check, DoctorReport
    from buildxpy.builders.manage import (
        Builder,
        Node,
        ensure_builder,
        inspect_builder,
        list_builders_info,
        remove_builder,
        stop_builder,
        use_builder,
    )
    from buildxpy.builders.qemu import QemuResult, qemu_install
    from buildxpy.builders.routing import NotNative, Route, RoutingPlan
    from buildxpy.builds.one_build import BuildResult, build_image
    from buildxpy.builds.report import BuildReport, PlatformReport
    from buildxpy.builds.results import NativeBuildResult
    from buildxpy.builds.spec import BuildSpec
    from buildxpy.ci.git_tags import TagRules
    from buildxpy.docker.runner import Result, Runner
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
    from buildxpy.exports.tarballs import ExportResult, LoadResult, export_images, load_tarballs
    from buildxpy.manifests.lists import (
        ManifestInfo,
        ManifestResult,
        ReleaseResult,
        manifest_create,
        manifest_inspect,
        release,
    )
    from buildxpy.manifests.login import LoginResult, login
    from buildxpy.manifests.registry import PlatformManifest
    from buildxpy.manifests.spec import manifest_create_from_spec
    from buildxpy.pins.changes import Outcome as PinOutcome
    from buildxpy.platforms.names import Platform
    from buildxpy.rebuilds.check import RebuildCheck
    from buildxpy.rebuilds.comparison import LayerChange, PlatformCheck
    from buildxpy.settings.builder import BuilderConfig, NodeConfig
    from buildxpy.settings.model import Settings
    from buildxpy.settings.model import load as load_settings
    from buildxpy.split.merge import MergeRefused, merge
    from buildxpy.split.options import MergeResult
    from buildxpy.split.records import DigestRecord
    from buildxpy.verification.report import PlatformVerdict, VerificationFailed, VerifyReport

# module -> the public names it provides ("name:attribute" where they differ)
_MODULES = {
    "buildxpy.api": (
        "build", "doctor", "export", "pin", "rebuild_check", "routing_plan", "setup_builder", "verify",
    ),
    "buildxpy.rebuilds.check": ("RebuildCheck",),
    "buildxpy.rebuilds.comparison": ("LayerChange", "PlatformCheck"),
    "buildxpy.pins.changes": ("PinOutcome:Outcome",),
    "buildxpy.builds.report": ("BuildReport", "PlatformReport"),
    "buildxpy.split.records": ("DigestRecord",),
    "buildxpy.split.merge": ("MergeRefused", "merge"),
    "buildxpy.split.options": ("MergeResult",),
    "buildxpy.builds.results": ("NativeBuildResult",),
    "buildxpy.builders.routing": ("NotNative", "Route", "RoutingPlan"),
    "buildxpy.builds.one_build": ("BuildResult", "build_image"),
    "buildxpy.builds.spec": ("BuildSpec",),
    "buildxpy.builders.manage": (
        "Builder", "Node", "ensure_builder", "inspect_builder", "list_builders_info",
        "remove_builder", "stop_builder", "use_builder",
    ),
    "buildxpy.builders.doctor": ("Check", "DoctorReport"),
    "buildxpy.errors": (
        "BuilderNotFound", "BuildxpyError", "CommandFailed", "CommandTimeout", "ConfigError",
        "DockerNotFound", "ImageNotFound", "RegistryError",
    ),
    "buildxpy.exports.tarballs": ("ExportResult", "LoadResult", "export_images", "load_tarballs"),
    "buildxpy.manifests.login": ("LoginResult", "login"),
    "buildxpy.manifests.lists": (
        "ManifestInfo", "ManifestResult", "PlatformManifest", "ReleaseResult", "manifest_create",
        "manifest_inspect", "release",
    ),
    "buildxpy.manifests.spec": ("manifest_create_from_spec",),
    "buildxpy.platforms.names": ("Platform",),
    "buildxpy.builders.qemu": ("QemuResult", "qemu_install"),
    "buildxpy.docker.runner": ("Result", "Runner"),
    "buildxpy.settings.builder": ("BuilderConfig", "NodeConfig"),
    "buildxpy.settings.model": ("Settings", "load_settings:load"),
    "buildxpy.verification.report": ("PlatformVerdict", "VerificationFailed", "VerifyReport"),
    "buildxpy.ci.git_tags": ("TagRules",),
    "buildxpy.builders.buildkitd_config": ("BuildkitdTable",),
}  # fmt: skip
_EXPORTS = {
    name.partition(":")[0]: (module, name.partition(":")[2] or name.partition(":")[0])
    for module, names in _MODULES.items()
    for name in names
}

__all__ = [
    "BuildReport",
    "BuildResult",
    "BuildSpec",
    "Builder",
    "BuilderConfig",
    "BuilderNotFound",
    "BuildkitdTable",
    "BuildxpyError",
    "Check",
    "CommandFailed",
    "CommandTimeout",
    "ConfigError",
    "DigestRecord",
    "DockerNotFound",
    "DoctorReport",
    "ExportResult",
    "ImageNotFound",
    "LayerChange",
    "LoadResult",
    "LoginResult",
    "ManifestInfo",
    "ManifestResult",
    "MergeRefused",
    "MergeResult",
    "NativeBuildResult",
    "Node",
    "NodeConfig",
    "NotNative",
    "PinOutcome",
    "Platform",
    "PlatformCheck",
    "PlatformManifest",
    "PlatformReport",
    "PlatformVerdict",
    "QemuResult",
    "RebuildCheck",
    "RegistryError",
    "ReleaseResult",
    "Result",
    "Route",
    "RoutingPlan",
    "Runner",
    "Settings",
    "TagRules",
    "VerificationFailed",
    "VerifyReport",
    "__version__",
    "build",
    "build_image",
    "doctor",
    "ensure_builder",
    "export",
    "export_images",
    "inspect_builder",
    "list_builders_info",
    "load_settings",
    "load_tarballs",
    "login",
    "manifest_create",
    "manifest_create_from_spec",
    "manifest_inspect",
    "merge",
    "pin",
    "qemu_install",
    "rebuild_check",
    "release",
    "remove_builder",
    "routing_plan",
    "setup_builder",
    "stop_builder",
    "use_builder",
    "verify",
]


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'buildxpy' has no attribute {name!r}")
    module, attr = target
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
