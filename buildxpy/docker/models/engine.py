"""What the docker CLI and engine print: contexts, ``info``, ``version``, ``image inspect``."""

from __future__ import annotations

from pydantic import (
    Field,
)

from buildxpy.docker.models._base import _Model, _records


class ContextEntry(_Model):
    """One ``docker context ls --format json`` entry."""

    name: str = Field(alias="Name")
    description: str = Field("", alias="Description")
    docker_endpoint: str = Field("", alias="DockerEndpoint")
    current: bool = Field(False, alias="Current")
    error: str = Field("", alias="Error")


def parse_context_ls(text: str) -> list[ContextEntry]:
    """``docker context ls --format json``: JSON lines from the docker CLI, one JSON array from
    the CLI wrapper older Docker Desktop releases install."""
    return _records(ContextEntry, text, "docker context ls --format json")


class DockerInfo(_Model):
    """``docker info --format '{{json .}}'``, the fields buildxpy reads."""

    id: str = Field("", alias="ID")
    name: str = Field("", alias="Name")
    # The daemon machine's name for its CPU: x86_64, aarch64, armv7l...
    architecture: str = Field("", alias="Architecture")
    os_type: str = Field("", alias="OSType")
    operating_system: str = Field("", alias="OperatingSystem")
    kernel_version: str = Field("", alias="KernelVersion")
    server_version: str = Field("", alias="ServerVersion")
    driver: str = Field("", alias="Driver")
    # [["driver-type", "io.containerd.snapshotter.v1"]] with the containerd image store.
    driver_status: list[list[str]] = Field(default=[], alias="DriverStatus")
    ncpu: int = Field(0, alias="NCPU")
    mem_total: int = Field(0, alias="MemTotal")
    # Set, with the server fields empty, when the CLI could not reach the daemon.
    server_errors: list[str] = Field(default=[], alias="ServerErrors")
    warnings: list[str] = Field(default=[], alias="Warnings")


class VersionComponent(_Model):
    name: str = Field("", alias="Name")
    version: str = Field("", alias="Version")
    details: dict[str, str] = Field(default={}, alias="Details")


class ClientVersion(_Model):
    version: str = Field("", alias="Version")
    api_version: str = Field("", alias="ApiVersion")
    os: str = Field("", alias="Os")
    arch: str = Field("", alias="Arch")
    context: str = Field("", alias="Context")


class ServerVersion(_Model):
    version: str = Field("", alias="Version")
    api_version: str = Field("", alias="ApiVersion")
    min_api_version: str = Field("", alias="MinAPIVersion")
    os: str = Field("", alias="Os")
    arch: str = Field("", alias="Arch")
    kernel_version: str = Field("", alias="KernelVersion")
    components: list[VersionComponent] = Field(default=[], alias="Components")


class DockerVersion(_Model):
    """``docker version --format '{{json .}}'``; ``Server`` is null when the daemon is not
    reachable (docker then also exits non-zero)."""

    client: ClientVersion = Field(default_factory=ClientVersion, alias="Client")
    server: ServerVersion | None = Field(None, alias="Server")


class ImageInspect(_Model):
    """``docker image inspect --format '{{json .}}'`` of one image."""

    id: str = Field("", alias="Id")
    repo_tags: list[str] = Field(default=[], alias="RepoTags")
    repo_digests: list[str] = Field(default=[], alias="RepoDigests")
    created: str = Field("", alias="Created")
    os: str = Field("", alias="Os")
    architecture: str = Field("", alias="Architecture")
    variant: str = Field("", alias="Variant")
    os_version: str = Field("", alias="OsVersion")
    size: int = Field(0, alias="Size")

    @property
    def platform_text(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)
