"""buildxpy: multi-architecture Docker images with docker buildx.

The public API is loaded on first use so that ``buildxpy --version`` imports neither sh nor
pydantic; ``dir(buildxpy)`` and ``help(buildxpy)`` list it all the same.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from buildxpy._version import __version__

if TYPE_CHECKING:
    from buildxpy.api import build, export, routing_plan, setup_builder, verify
    from buildxpy.build_report import BuildReport, PlatformReport
    from buildxpy.build_results import NativeBuildResult
    from buildxpy.build_spec import BuildSpec
    from buildxpy.builders import (
        Builder,
        Node,
        ensure_builder,
        inspect_builder,
        list_builders_info,
        remove_builder,
        stop_builder,
        use_builder,
    )
    from buildxpy.buildkitd_config import BuildkitdTable
    from buildxpy.digest_records import DigestRecord
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
    from buildxpy.git_meta import TagRules
    from buildxpy.health import Check, DoctorReport, doctor
    from buildxpy.image_build import BuildResult, build_image
    from buildxpy.image_export import ExportResult, LoadResult, export_images, load_tarballs
    from buildxpy.index_merge import MergeRefused, merge
    from buildxpy.manifest import (
        ManifestInfo,
        ManifestResult,
        PlatformManifest,
        ReleaseResult,
        manifest_create,
        manifest_inspect,
        release,
    )
    from buildxpy.manifest_spec import manifest_create_from_spec
    from buildxpy.merge_options import MergeResult
    from buildxpy.platforms import Platform
    from buildxpy.qemu import QemuResult, qemu_install
    from buildxpy.registry_login import LoginResult, login
    from buildxpy.routing import NotNative, Route, RoutingPlan
    from buildxpy.runner import Result, Runner
    from buildxpy.settings import BuilderConfig, NodeConfig, Settings
    from buildxpy.settings import load as load_settings
    from buildxpy.verify_report import PlatformVerdict, VerificationFailed, VerifyReport

# module -> the public names it provides ("name:attribute" where they differ)
_MODULES = {
    "buildxpy.api": ("build", "export", "routing_plan", "setup_builder", "verify"),
    "buildxpy.build_report": ("BuildReport", "PlatformReport"),
    "buildxpy.digest_records": ("DigestRecord",),
    "buildxpy.index_merge": ("MergeRefused", "merge"),
    "buildxpy.merge_options": ("MergeResult",),
    "buildxpy.build_results": ("NativeBuildResult",),
    "buildxpy.routing": ("NotNative", "Route", "RoutingPlan"),
    "buildxpy.image_build": ("BuildResult", "build_image"),
    "buildxpy.build_spec": ("BuildSpec",),
    "buildxpy.builders": (
        "Builder", "Node", "ensure_builder", "inspect_builder", "list_builders_info",
        "remove_builder", "stop_builder", "use_builder",
    ),
    "buildxpy.health": ("Check", "DoctorReport", "doctor"),
    "buildxpy.errors": (
        "BuilderNotFound", "BuildxpyError", "CommandFailed", "CommandTimeout", "ConfigError",
        "DockerNotFound", "ImageNotFound", "RegistryError",
    ),
    "buildxpy.image_export": ("ExportResult", "LoadResult", "export_images", "load_tarballs"),
    "buildxpy.registry_login": ("LoginResult", "login"),
    "buildxpy.manifest": (
        "ManifestInfo", "ManifestResult", "PlatformManifest", "ReleaseResult", "manifest_create",
        "manifest_inspect", "release",
    ),
    "buildxpy.manifest_spec": ("manifest_create_from_spec",),
    "buildxpy.platforms": ("Platform",),
    "buildxpy.qemu": ("QemuResult", "qemu_install"),
    "buildxpy.runner": ("Result", "Runner"),
    "buildxpy.settings": ("BuilderConfig", "NodeConfig", "Settings", "load_settings:load"),
    "buildxpy.verify_report": ("PlatformVerdict", "VerificationFailed", "VerifyReport"),
    "buildxpy.git_meta": ("TagRules",),
    "buildxpy.buildkitd_config": ("BuildkitdTable",),
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
    "Platform",
    "PlatformManifest",
    "PlatformReport",
    "PlatformVerdict",
    "QemuResult",
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
    "qemu_install",
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
