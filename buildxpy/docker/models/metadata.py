"""The file ``docker buildx build --metadata-file`` writes."""

from __future__ import annotations

from typing import Any

from pydantic import (
    Base64Bytes,
    Field,
)

from buildxpy.docker.models._base import _Model
from buildxpy.docker.models.descriptor import Descriptor


class BuildWarning(_Model):
    """A build check warning; ``short`` and ``detail`` are base64 in the file, loaded decoded."""

    vertex: str = ""
    level: int = 0
    short: Base64Bytes = b""
    detail: list[Base64Bytes] = Field(default=[])
    url: str = ""

    @property
    def message(self) -> str:
        return self.short.decode(errors="replace")


class BuildMetadata(_Model):
    """The ``--metadata-file`` buildx writes. Builds that make no image have none of the
    ``containerimage.*`` keys; multi-platform provenance comes under per-platform keys
    (``buildx.build.provenance/linux/amd64``), which are not read."""

    image_digest: str = Field("", alias="containerimage.digest")
    descriptor: Descriptor | None = Field(None, alias="containerimage.descriptor")
    config_digest: str = Field("", alias="containerimage.config.digest")
    # Comma-separated when the build was given several tags.
    image_name: str = Field("", alias="image.name")
    build_ref: str = Field("", alias="buildx.build.ref")
    provenance: dict[str, Any] = Field(default={}, alias="buildx.build.provenance")
    warnings: list[BuildWarning] = Field(default=[], alias="buildx.build.warnings")

    @property
    def digest(self) -> str | None:
        """The image's digest, or None when the build did not report a sha256 one."""
        return self.image_digest if self.image_digest.startswith("sha256:") else None
