"""OCI image indexes, manifests and image configs, as registries serve them (descriptors and
platforms are in ``descriptor``)."""

from __future__ import annotations

from typing import Any

from pydantic import (
    Field,
)

from buildxpy.docker.models._base import _Model
from buildxpy.docker.models.descriptor import (
    ATTESTATION_TYPE,
    REFERENCE_TYPE,
    Descriptor,
    OciPlatform,
)

# The descriptor's names stay importable from here, beside the models built on them.
__all__ = [
    "ATTESTATION_TYPE",
    "REFERENCE_TYPE",
    "ContainerConfig",
    "Descriptor",
    "HistoryEntry",
    "ImageConfig",
    "ImageIndex",
    "ImageManifest",
    "OciPlatform",
    "RootFs",
]


class ImageIndex(_Model):
    """An OCI image index or a Docker manifest list."""

    schema_version: int = Field(2, alias="schemaVersion")
    media_type: str = Field("", alias="mediaType")
    manifests: list[Descriptor] = Field(default=[])
    annotations: dict[str, str] = Field(default={})

    @property
    def images(self) -> list[Descriptor]:
        """The per-platform image entries, attestation manifests left out."""
        return [entry for entry in self.manifests if not entry.is_attestation]


class ImageManifest(_Model):
    schema_version: int = Field(2, alias="schemaVersion")
    media_type: str = Field("", alias="mediaType")
    config: Descriptor
    layers: list[Descriptor] = Field(default=[])
    annotations: dict[str, str] = Field(default={})
    subject: Descriptor | None = None


class ContainerConfig(_Model):
    """The ``config`` part of an image config: what a container of the image runs."""

    user: str = Field("", alias="User")
    env: list[str] = Field(default=[], alias="Env")
    entrypoint: list[str] = Field(default=[], alias="Entrypoint")
    cmd: list[str] = Field(default=[], alias="Cmd")
    working_dir: str = Field("", alias="WorkingDir")
    labels: dict[str, str] = Field(default={}, alias="Labels")
    exposed_ports: dict[str, Any] = Field(default={}, alias="ExposedPorts")
    stop_signal: str = Field("", alias="StopSignal")


class RootFs(_Model):
    type: str = ""
    diff_ids: list[str] = Field(default=[])


class HistoryEntry(_Model):
    created: str = ""
    created_by: str = ""
    comment: str = ""
    empty_layer: bool = False


class ImageConfig(_Model):
    """An image's config blob (``imagetools inspect --format '{{json .Image}}'``)."""

    created: str = ""
    author: str = ""
    architecture: str = ""
    os: str = ""
    os_version: str = Field("", alias="os.version")
    os_features: list[str] = Field(default=[], alias="os.features")
    variant: str = ""
    config: ContainerConfig = Field(default_factory=ContainerConfig)
    rootfs: RootFs = Field(default_factory=RootFs)
    history: list[HistoryEntry] = Field(default=[])

    @property
    def platform_text(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)
