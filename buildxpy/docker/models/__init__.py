"""The JSON docker and buildx print, as pydantic models: one module, in parts.

Every model ignores keys it does not know and defaults the ones that are missing, so output from
newer docker and buildx versions still loads. Fields are snake_case; the JSON key is the alias.
Each part is imported when one of its names is first used: a pydantic model class costs more to
define than most commands spend on the models they read.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from buildxpy.docker.models._base import DockerJsonError, load_json, validate_json
    from buildxpy.docker.models.buildx_ls import (
        BuildxCurrent,
        GCPolicyRule,
        LsBuilder,
        LsNode,
        parse_ls,
    )
    from buildxpy.docker.models.descriptor import (
        ATTESTATION_TYPE,
        REFERENCE_TYPE,
        Descriptor,
        OciPlatform,
    )
    from buildxpy.docker.models.engine import (
        ClientVersion,
        ContextEntry,
        DockerInfo,
        DockerVersion,
        ImageInspect,
        ServerVersion,
        VersionComponent,
        parse_context_ls,
    )
    from buildxpy.docker.models.metadata import BuildMetadata, BuildWarning
    from buildxpy.docker.models.oci import (
        ContainerConfig,
        HistoryEntry,
        ImageConfig,
        ImageIndex,
        ImageManifest,
        RootFs,
    )

_PARTS = {
    "ATTESTATION_TYPE": "descriptor",
    "BuildMetadata": "metadata",
    "BuildWarning": "metadata",
    "BuildxCurrent": "buildx_ls",
    "ClientVersion": "engine",
    "ContainerConfig": "oci",
    "ContextEntry": "engine",
    "Descriptor": "descriptor",
    "DockerInfo": "engine",
    "DockerJsonError": "_base",
    "DockerVersion": "engine",
    "GCPolicyRule": "buildx_ls",
    "HistoryEntry": "oci",
    "ImageConfig": "oci",
    "ImageIndex": "oci",
    "ImageInspect": "engine",
    "ImageManifest": "oci",
    "LsBuilder": "buildx_ls",
    "LsNode": "buildx_ls",
    "OciPlatform": "descriptor",
    "REFERENCE_TYPE": "descriptor",
    "RootFs": "oci",
    "ServerVersion": "engine",
    "VersionComponent": "engine",
    "load_json": "_base",
    "parse_context_ls": "engine",
    "parse_ls": "buildx_ls",
    "validate_json": "_base",
}

__all__ = [
    "ATTESTATION_TYPE",
    "REFERENCE_TYPE",
    "BuildMetadata",
    "BuildWarning",
    "BuildxCurrent",
    "ClientVersion",
    "ContainerConfig",
    "ContextEntry",
    "Descriptor",
    "DockerInfo",
    "DockerJsonError",
    "DockerVersion",
    "GCPolicyRule",
    "HistoryEntry",
    "ImageConfig",
    "ImageIndex",
    "ImageInspect",
    "ImageManifest",
    "LsBuilder",
    "LsNode",
    "OciPlatform",
    "RootFs",
    "ServerVersion",
    "VersionComponent",
    "load_json",
    "parse_context_ls",
    "parse_ls",
    "validate_json",
]


def __getattr__(name: str) -> Any:
    part = _PARTS.get(name)
    if part is None:
        raise AttributeError(f"module 'buildxpy.docker.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"buildxpy.docker.models.{part}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PARTS})
