"""An OCI image layout written as one tar (``--output type=oci,dest=FILE``): its images per
platform, their manifests and configs, and any blob as a stream. Read in place, never unpacked."""

from __future__ import annotations

import contextlib
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from buildxpy.errors import BuildxpyError
from buildxpy.platforms.names import parse

INDEX_TYPES = frozenset({
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
})  # fmt: skip


class OciArchive:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._tar = tarfile.open(path)  # noqa: SIM115 - closed by close()
        except (OSError, tarfile.TarError) as exc:
            raise BuildxpyError(f"cannot read the OCI archive {path}: {exc}") from None

    def __enter__(self) -> OciArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._tar.close()

    def images(self) -> dict[str, str]:
        """Each platform's image manifest digest; attestation manifests left out."""
        found: dict[str, str] = {}
        self._collect(self._json("index.json"), found)
        return found

    def _collect(self, index: dict[str, Any], found: dict[str, str]) -> None:
        for entry in index.get("manifests", []):
            if entry.get("mediaType") in INDEX_TYPES:
                self._collect(self.json_blob(entry["digest"]), found)
                continue
            # A lone image's entry may leave its platform to its config.
            platform = entry.get("platform") or self._config_platform(entry["digest"])
            if platform.get("os") in (None, "unknown"):
                continue
            text = "/".join(
                str(p) for p in (platform["os"], platform["architecture"], platform.get("variant"))
                if p
            )  # fmt: skip
            found[str(parse(text))] = entry["digest"]

    def _config_platform(self, digest: str) -> dict[str, Any]:
        manifest = self.json_blob(digest)
        config = manifest.get("config") or {}
        return self.json_blob(str(config["digest"])) if "digest" in config else {}

    def json_blob(self, digest: str) -> dict[str, Any]:
        return self._json(blob_path(digest))

    def blob(self, digest: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        return self.member(blob_path(digest))

    def _json(self, name: str) -> dict[str, Any]:
        with self.member(name) as stream:
            try:
                data = json.load(stream)
            except ValueError as exc:
                raise BuildxpyError(f"{self.path}: {name} is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise BuildxpyError(f"{self.path}: {name} is not a JSON object")
        return data

    @contextlib.contextmanager
    def member(self, name: str) -> Iterator[IO[bytes]]:
        stream = self._tar.extractfile(self._member(name))
        if stream is None:
            raise BuildxpyError(f"{self.path}: {name} is not a file")
        with stream:
            yield stream

    def _member(self, name: str) -> tarfile.TarInfo:
        try:
            return self._tar.getmember(name)
        except KeyError:
            raise BuildxpyError(f"{self.path} has no {name}") from None


def blob_path(digest: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    return f"blobs/{algorithm}/{hexdigest}"
