"""OCI descriptors and platforms: what a build's metadata file names, apart from the indexes,
manifests and configs in ``oci`` so that reading that file defines only these two models."""

from __future__ import annotations

from pydantic import Field

from buildxpy.docker.models._base import _Model

ATTESTATION_TYPE = "attestation-manifest"
REFERENCE_TYPE = "vnd.docker.reference.type"


class OciPlatform(_Model):
    architecture: str = ""
    os: str = ""
    os_version: str = Field("", alias="os.version")
    os_features: list[str] = Field(default=[], alias="os.features")
    variant: str = ""

    @property
    def text(self) -> str:
        """``os/arch[/variant]``, the form buildx prints (the OS version is left out, as it does)."""
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


class Descriptor(_Model):
    media_type: str = Field("", alias="mediaType")
    digest: str
    size: int = 0
    platform: OciPlatform | None = None
    annotations: dict[str, str] = Field(default={})
    urls: list[str] = Field(default=[])
    artifact_type: str = Field("", alias="artifactType")

    @property
    def is_attestation(self) -> bool:
        """BuildKit's attestation manifests: marked by annotation, and always ``unknown/unknown``."""
        if self.annotations.get(REFERENCE_TYPE) == ATTESTATION_TYPE:
            return True
        return self.platform is not None and self.platform.text == "unknown/unknown"
