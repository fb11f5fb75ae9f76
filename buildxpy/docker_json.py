"""The JSON docker and buildx print, as pydantic models.

Every model ignores keys it does not know and defaults the ones that are missing, so output from
newer docker and buildx versions still loads. Fields are snake_case; the JSON key is the alias.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TypeVar

from pydantic import (
    Base64Bytes,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from buildxpy.errors import BuildxpyError

ATTESTATION_TYPE = "attestation-manifest"
REFERENCE_TYPE = "vnd.docker.reference.type"

M = TypeVar("M", bound=BaseModel)


class DockerJsonError(BuildxpyError):
    """docker or buildx printed JSON of a shape buildxpy cannot read."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        # Go prints nil slices, maps and pointers as null; dropping them lets the default stand.
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


# --------------------------------------------------------------------------- OCI


class OciPlatform(_Model):
    architecture: str = ""
    os: str = ""
    os_version: str = Field("", alias="os.version")
    os_features: list[str] = Field(default_factory=list, alias="os.features")
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
    annotations: dict[str, str] = Field(default_factory=dict)
    urls: list[str] = Field(default_factory=list)
    artifact_type: str = Field("", alias="artifactType")

    @property
    def is_attestation(self) -> bool:
        """BuildKit's attestation manifests: marked by annotation, and always ``unknown/unknown``."""
        if self.annotations.get(REFERENCE_TYPE) == ATTESTATION_TYPE:
            return True
        return self.platform is not None and self.platform.text == "unknown/unknown"


class ImageIndex(_Model):
    """An OCI image index or a Docker manifest list."""

    schema_version: int = Field(2, alias="schemaVersion")
    media_type: str = Field("", alias="mediaType")
    manifests: list[Descriptor] = Field(default_factory=list)
    annotations: dict[str, str] = Field(default_factory=dict)

    @property
    def images(self) -> list[Descriptor]:
        """The per-platform image entries, attestation manifests left out."""
        return [entry for entry in self.manifests if not entry.is_attestation]


class ImageManifest(_Model):
    schema_version: int = Field(2, alias="schemaVersion")
    media_type: str = Field("", alias="mediaType")
    config: Descriptor
    layers: list[Descriptor] = Field(default_factory=list)
    annotations: dict[str, str] = Field(default_factory=dict)
    subject: Descriptor | None = None


class ContainerConfig(_Model):
    """The ``config`` part of an image config: what a container of the image runs."""

    user: str = Field("", alias="User")
    env: list[str] = Field(default_factory=list, alias="Env")
    entrypoint: list[str] = Field(default_factory=list, alias="Entrypoint")
    cmd: list[str] = Field(default_factory=list, alias="Cmd")
    working_dir: str = Field("", alias="WorkingDir")
    labels: dict[str, str] = Field(default_factory=dict, alias="Labels")
    exposed_ports: dict[str, Any] = Field(default_factory=dict, alias="ExposedPorts")
    stop_signal: str = Field("", alias="StopSignal")


class RootFs(_Model):
    type: str = ""
    diff_ids: list[str] = Field(default_factory=list)


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
    os_features: list[str] = Field(default_factory=list, alias="os.features")
    variant: str = ""
    config: ContainerConfig = Field(default_factory=ContainerConfig)
    rootfs: RootFs = Field(default_factory=RootFs)
    history: list[HistoryEntry] = Field(default_factory=list)

    @property
    def platform_text(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


# --------------------------------------------------------------------------- buildx ls


class GCPolicyRule(_Model):
    """One BuildKit garbage-collection rule. BuildKit 0.17 (buildx 0.18) replaced ``keepBytes``
    with ``reservedSpace``, ``maxUsedSpace`` and ``minFreeSpace``; both spellings load."""

    all: bool = False
    filter: list[str] = Field(default_factory=list)
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
    platforms: list[str] = Field(default_factory=list, alias="Platforms")
    driver_opts: dict[str, str] = Field(default_factory=dict, alias="DriverOpts")
    flags: list[str] = Field(default_factory=list, alias="Flags")
    # Go prints these []byte contents as base64; they load decoded.
    files: dict[str, Base64Bytes] = Field(default_factory=dict, alias="Files")
    proxy_config: dict[str, str] = Field(default_factory=dict, alias="ProxyConfig")
    ids: list[str] = Field(default_factory=list, alias="IDs")
    gc_policy: list[GCPolicyRule] = Field(default_factory=list, alias="GCPolicy")
    labels: dict[str, str] = Field(default_factory=dict, alias="Labels")

    @field_validator("platforms", mode="before")
    @classmethod
    def _platform_strings(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [
                OciPlatform.model_validate(item).text if isinstance(item, dict) else item
                for item in value
            ]
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
    nodes: list[LsNode] = Field(default_factory=list, alias="Nodes")

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


# --------------------------------------------------------------------------- docker


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
    driver_status: list[list[str]] = Field(default_factory=list, alias="DriverStatus")
    ncpu: int = Field(0, alias="NCPU")
    mem_total: int = Field(0, alias="MemTotal")
    # Set, with the server fields empty, when the CLI could not reach the daemon.
    server_errors: list[str] = Field(default_factory=list, alias="ServerErrors")
    warnings: list[str] = Field(default_factory=list, alias="Warnings")


class VersionComponent(_Model):
    name: str = Field("", alias="Name")
    version: str = Field("", alias="Version")
    details: dict[str, str] = Field(default_factory=dict, alias="Details")


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
    components: list[VersionComponent] = Field(default_factory=list, alias="Components")


class DockerVersion(_Model):
    """``docker version --format '{{json .}}'``; ``Server`` is null when the daemon is not
    reachable (docker then also exits non-zero)."""

    client: ClientVersion = Field(default_factory=ClientVersion, alias="Client")
    server: ServerVersion | None = Field(None, alias="Server")


class ImageInspect(_Model):
    """``docker image inspect --format '{{json .}}'`` of one image."""

    id: str = Field("", alias="Id")
    repo_tags: list[str] = Field(default_factory=list, alias="RepoTags")
    repo_digests: list[str] = Field(default_factory=list, alias="RepoDigests")
    created: str = Field("", alias="Created")
    os: str = Field("", alias="Os")
    architecture: str = Field("", alias="Architecture")
    variant: str = Field("", alias="Variant")
    os_version: str = Field("", alias="OsVersion")
    size: int = Field(0, alias="Size")

    @property
    def platform_text(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


# --------------------------------------------------------------------------- build metadata


class BuildWarning(_Model):
    """A build check warning; ``short`` and ``detail`` are base64 in the file, loaded decoded."""

    vertex: str = ""
    level: int = 0
    short: Base64Bytes = b""
    detail: list[Base64Bytes] = Field(default_factory=list)
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
    provenance: dict[str, Any] = Field(default_factory=dict, alias="buildx.build.provenance")
    warnings: list[BuildWarning] = Field(default_factory=list, alias="buildx.build.warnings")

    @property
    def digest(self) -> str | None:
        """The image's digest, or None when the build did not report a sha256 one."""
        return self.image_digest if self.image_digest.startswith("sha256:") else None


# --------------------------------------------------------------------------- loading


def load_json(model: type[M], text: str, *, what: str) -> M:
    """``text`` as one ``model``; ``what`` names the source in the one-line error."""
    return _validate(model, _decode(text, what), what)


def validate_json(model: type[M], data: Any, *, what: str) -> M:
    """Decoded JSON as one ``model``, for callers that looked at it first."""
    return _validate(model, data, what)


def _records(model: type[M], text: str, what: str) -> list[M]:
    """A JSON array, or one JSON value a line."""
    if text.lstrip().startswith("["):
        items = _decode(text, what)
        return [_validate(model, item, f"{what}, item {i}") for i, item in enumerate(items, 1)]
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            where = f"{what}, line {number}"
            records.append(_validate(model, _decode(line, where), where))
    return records


def _decode(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DockerJsonError(
            f"{what}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None


def _validate(model: type[M], data: Any, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise DockerJsonError(f"{what}: {_first_problem(exc)}") from None


def _first_problem(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    if not errors[0]["loc"] and errors[0]["type"] in ("model_type", "dict_type"):
        return "not a JSON object"
    where = ".".join(str(part) for part in errors[0]["loc"]) or "top level"
    problem = " ".join(str(errors[0]["msg"]).split())
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"unexpected JSON at {where}: {problem}{more}"
