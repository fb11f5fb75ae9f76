"""``docker buildx ls --format json`` entries and buildx's stored builders (the same keys)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import (
    Base64Bytes,
    Field,
    field_validator,
)

from buildxpy.docker.models._base import _Model, _records


class GCPolicyRule(_Model):
    """One BuildKit garbage-collection rule. BuildKit 0.17 (buildx 0.18) replaced ``keepBytes``
    with ``reservedSpace``, ``maxUsedSpace`` and ``minFreeSpace``; both spellings load."""

    all: bool = False
    filter: list[str] = Field(default=[])
    # Nanoseconds: Go prints a time.Duration as an integer.
    keep_duration: int = Field(0, alias="keepDuration")
    keep_bytes: int = Field(0, alias="keepBytes")
    reserved_space: int = Field(0, alias="reservedSpace")
    max_used_space: int = Field(0, alias="maxUsedSpace")
    min_free_space: int = Field(0, alias="minFreeSpace")

    @property
    def reserved(self) -> int:
        """The space the rule keeps, whichever BuildKit version wrote it."""
        return self.reserved_space or self.keep_bytes


class LsNode(_Model):
    """A node of a builder, from ``buildx ls --format json`` or buildx's stored node group."""

    name: str = Field("", alias="Name")
    endpoint: str = Field("", alias="Endpoint")
    # inactive, starting, running, stopping, stopped or error; absent from the store file.
    status: str = Field("", alias="Status")
    # The BuildKit version, known only while the node runs.
    version: str = Field("", alias="Version")
    err: str = Field("", alias="Err")
    # ``os/arch[/variant]``: ls prints strings, the store file OCI platform objects.
    platforms: list[str] = Field(default=[], alias="Platforms")
    driver_opts: dict[str, str] = Field(default={}, alias="DriverOpts")
    flags: list[str] = Field(default=[], alias="Flags")
    # Go prints these []byte contents as base64; they load decoded.
    files: dict[str, Base64Bytes] = Field(default={}, alias="Files")
    proxy_config: dict[str, str] = Field(default={}, alias="ProxyConfig")
    ids: list[str] = Field(default=[], alias="IDs")
    gc_policy: list[GCPolicyRule] = Field(default=[], alias="GCPolicy")
    labels: dict[str, str] = Field(default={}, alias="Labels")

    @field_validator("platforms", mode="before")
    @classmethod
    def _platform_strings(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [_platform_text(item) if isinstance(item, dict) else item for item in value]
        return value


class LsBuilder(_Model):
    """A builder, from ``buildx ls --format json`` or ``$DOCKER_CONFIG/buildx/instances/NAME``."""

    name: str = Field(alias="Name")
    # Empty for a docker context whose daemon could not be reached.
    driver: str = Field("", alias="Driver")
    dynamic: bool = Field(False, alias="Dynamic")
    # None when this buildx does not say (before 0.24, and in the store file).
    current: bool | None = Field(None, alias="Current")
    # None when never used: buildx prints Go's zero time then.
    last_activity: datetime | None = Field(None, alias="LastActivity")
    err: str = Field("", alias="Err")
    # A builder that failed to load lists one nameless node per configured node.
    nodes: list[LsNode] = Field(default=[], alias="Nodes")

    @field_validator("last_activity", mode="before")
    @classmethod
    def _zero_time(cls, value: Any) -> Any:
        if isinstance(value, str) and value.startswith("0001-01-01"):
            return None
        return value


class BuildxCurrent(_Model):
    """``$DOCKER_CONFIG/buildx/current``: the builder ``buildx use`` chose, for one endpoint."""

    key: str = Field("", alias="Key")
    name: str = Field("", alias="Name")
    is_global: bool = Field(False, alias="Global")


def parse_ls(text: str) -> list[LsBuilder]:
    """``docker buildx ls --format json``: one JSON object a line (an array is read too). Before
    0.21 buildx prints each builder once more for every node, every copy whole, so the first line
    of a name is kept."""
    builders: dict[str, LsBuilder] = {}
    for builder in _records(LsBuilder, text, "docker buildx ls --format json"):
        builders.setdefault(builder.name, builder)
    return list(builders.values())


def _platform_text(item: dict[str, Any]) -> str:
    """An OCI platform object of the store file, as ls prints it (``os/arch[/variant]``)."""
    parts = (item.get("os"), item.get("architecture"), item.get("variant"))
    return "/".join(str(p) for p in parts if p)
