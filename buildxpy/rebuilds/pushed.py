"""The pushed side of a rebuild check, read through docker with the checking builder (so its
registry settings apply): each platform's manifest and config, what they say about how the image
was made, and its layers, fetched by building ``FROM`` the pushed image into an OCI archive."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError, CommandFailed
from buildxpy.manifests.registry import (
    fetch,
    image_config_argv,
    image_platform,
    inspect_argv,
    parse_reference,
    platform_entries,
    registry_failure,
)

REVISION = "org.opencontainers.image.revision"
OCI_LABELS = "org.opencontainers.image."
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


@dataclass(frozen=True, slots=True)
class PushedImage:
    platform: str
    # The image by digest: REPOSITORY@sha256:…
    ref: str
    digest: str
    manifest: dict[str, Any]
    config: dict[str, Any]

    @property
    def layers(self) -> list[str]:
        return [str(layer["digest"]) for layer in self.manifest.get("layers", [])]

    @property
    def labels(self) -> dict[str, str]:
        return dict((self.config.get("config") or {}).get("Labels") or {})

    @property
    def annotations(self) -> dict[str, str]:
        return dict(self.manifest.get("annotations") or {})


def read_pushed(
    runner: Runner, ref: str, builder: str | None, platforms: Sequence[str] = ()
) -> list[PushedImage]:
    """Each platform's image behind ``ref`` (only ``platforms`` when given)."""
    reference = parse_reference(ref)
    fetched = fetch(runner, ref, builder)
    if fetched.index is None:
        images = {image_platform(runner, ref, builder): fetched.digest}
    else:
        images = {entry.platform: entry.digest for entry in platform_entries(fetched.index)}
    missing = [p for p in platforms if p not in images]
    if missing:
        raise BuildxpyError(f"{ref} has no {', '.join(missing)} (it has {', '.join(images)})")
    chosen = {p: d for p, d in images.items() if not platforms or p in platforms}
    return [_image(runner, str(reference.at(d)), p, d, builder) for p, d in chosen.items()]


def _image(
    runner: Runner, ref: str, platform: str, digest: str, builder: str | None
) -> PushedImage:
    manifest = _json(runner, ref, inspect_argv(ref, builder))
    config = _json(runner, ref, image_config_argv(ref, builder))
    return PushedImage(platform, ref, digest, manifest, config)


def _json(runner: Runner, ref: str, argv: list[str]) -> dict[str, Any]:
    try:
        text = runner.run(*argv).stdout
    except CommandFailed as exc:
        raise registry_failure(ref, exc) from None
    try:
        data = json.loads(text)
    except ValueError:
        raise BuildxpyError(f"the registry returned no JSON for {ref}") from None
    if not isinstance(data, dict):
        raise BuildxpyError(f"the registry returned no JSON object for {ref}")
    return data


def revision(image: PushedImage) -> str | None:
    return image.labels.get(REVISION) or None


def created_epoch(image: PushedImage) -> str | None:
    """The config's creation time in seconds: a reproducible build's ``SOURCE_DATE_EPOCH``."""
    created = str(image.config.get("created") or "")
    try:
        moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return None
    return str(int(moment.timestamp()))


def output_options(image: PushedImage) -> str:
    """The OCI exporter's options that make manifests of the pushed kind: media types and layer
    compression decide the manifest's bytes as much as the files do."""
    options = [f"oci-mediatypes={'false' if _docker_types(image) else 'true'}"]
    kinds = [str(layer.get("mediaType", "")) for layer in image.manifest.get("layers", [])]
    if any("zstd" in kind for kind in kinds):
        options.append("compression=zstd")
    elif kinds and not any("gzip" in kind for kind in kinds):
        options.append("compression=uncompressed")
    return ",".join(options)


def _docker_types(image: PushedImage) -> bool:
    return str(image.manifest.get("mediaType", "")) == DOCKER_MANIFEST


def fetch_layers(runner: Runner, image: PushedImage, builder: str, workdir: Path) -> Path:
    """An OCI archive holding the pushed image's layers as the registry serves them: BuildKit
    builds ``FROM`` the image by digest and keeps its blobs, so nothing enters the image store."""
    directory = workdir / f"from-{image.digest.partition(':')[2][:12]}"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Dockerfile").write_text(f"FROM {image.ref}\n")
    archive = directory / "image.tar"
    runner.run(
        "buildx", "build", "--builder", builder, "--platform", image.platform,
        "--provenance=false", "--progress", "quiet",
        "--output", f"type=oci,dest={archive}", "-f", str(directory / "Dockerfile"),
        str(directory),
    )  # fmt: skip
    return archive
