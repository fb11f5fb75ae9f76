"""OCI image layouts written as one tar, as ``--output type=oci,dest=FILE`` writes them: for tests
that read archives and registries' answers without a builder."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer(files: dict[str, bytes], *, mtime: int = 1700000000) -> bytes:
    """A gzip layer holding ``files`` (paths without the leading slash)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(content), mtime, 0o644
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


@dataclass
class Image:
    platform: str
    layers: list[bytes]
    labels: dict[str, str] = field(default_factory=dict)
    created: str = "2023-11-14T22:13:20Z"
    annotations: dict[str, str] = field(default_factory=dict)

    def config(self) -> dict[str, Any]:
        os_, arch, *variant = self.platform.split("/")
        data: dict[str, Any] = {
            "created": self.created, "os": os_, "architecture": arch,
            "config": {"Labels": self.labels},
            "rootfs": {"type": "layers", "diff_ids": [
                digest_of(gzip.decompress(blob)) for blob in self.layers
            ]},
        }  # fmt: skip
        if variant:
            data["variant"] = variant[0]
        return data

    def config_bytes(self) -> bytes:
        return json.dumps(self.config(), sort_keys=True).encode()

    def manifest(self) -> dict[str, Any]:
        config = self.config_bytes()
        data: dict[str, Any] = {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": len(config)},
            "layers": [
                {"mediaType": OCI_LAYER, "digest": digest_of(blob), "size": len(blob)}
                for blob in self.layers
            ],
        }  # fmt: skip
        if self.annotations:
            data["annotations"] = self.annotations
        return data

    def manifest_bytes(self) -> bytes:
        return json.dumps(self.manifest(), sort_keys=True).encode()

    @property
    def digest(self) -> str:
        return digest_of(self.manifest_bytes())

    def descriptor(self) -> dict[str, Any]:
        os_, arch, *variant = self.platform.split("/")
        platform = {"os": os_, "architecture": arch, **({"variant": variant[0]} if variant else {})}
        data = self.manifest_bytes()
        return {"mediaType": OCI_MANIFEST, "digest": digest_of(data), "size": len(data),
                "platform": platform}  # fmt: skip


def index_bytes(images: list[Image]) -> bytes:
    manifests = [image.descriptor() for image in images]
    # An attestation manifest, as buildx adds: no platform of its own.
    manifests.append({"mediaType": OCI_MANIFEST, "digest": digest_of(b"attestation"), "size": 11,
                      "platform": {"os": "unknown", "architecture": "unknown"}})  # fmt: skip
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}).encode()


def write_archive(path: Path, images: list[Image]) -> None:
    """``images`` as BuildKit's OCI exporter lays them out: index.json pointing at an index."""
    blobs: dict[str, bytes] = {}
    for image in images:
        for blob in (*image.layers, image.config_bytes(), image.manifest_bytes()):
            blobs[digest_of(blob)] = blob
    inner = index_bytes(images)
    blobs[digest_of(inner)] = inner
    top = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": OCI_INDEX, "digest": digest_of(inner), "size": len(inner)}
    ]}).encode()  # fmt: skip
    with tarfile.open(path, "w") as tar:
        for name, data in [
            ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
            ("index.json", top),
            *((f"blobs/sha256/{d.partition(':')[2]}", b) for d, b in blobs.items()),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def write_lone_image(path: Path, image: Image) -> None:
    """One image, its index.json entry naming no platform: the config says it."""
    blobs = {digest_of(b): b for b in (*image.layers, image.config_bytes(), image.manifest_bytes())}
    entry = {key: value for key, value in image.descriptor().items() if key != "platform"}
    top = json.dumps({"schemaVersion": 2, "manifests": [entry]}).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in [
            ("index.json", top),
            *((f"blobs/sha256/{d.partition(':')[2]}", b) for d, b in blobs.items()),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
