"""Registry answers at the subprocess seam: what `imagetools inspect --raw` returns for images a
one-platform build pushed (an index: the image and its attestation), and for what
`imagetools create` wrote."""

from __future__ import annotations

import hashlib
import json

from buildxpy.docker.runner import Completed
from buildxpy.split.records import DigestRecord
from tests.fakes import Call, FakeRunner

IMAGE = "127.0.0.1:5000/app"


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def entry(platform: str, seed: str) -> dict[str, object]:
    os_name, arch, *variant = platform.split("/")
    described: dict[str, str] = {"architecture": arch, "os": os_name}
    if variant:
        described["variant"] = variant[0]
    return {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest_of(f"image {seed}"), "size": 476, "platform": described,
    }  # fmt: skip


def attestation(seed: str) -> dict[str, object]:
    return {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest_of(f"attestation {seed}"), "size": 565,
        "annotations": {"vnd.docker.reference.digest": digest_of(f"image {seed}"),
                        "vnd.docker.reference.type": "attestation-manifest"},
        "platform": {"architecture": "unknown", "os": "unknown"},
    }  # fmt: skip


def index(*platforms: str) -> str:
    manifests = [item for p in platforms for item in (entry(p, p), attestation(p))]
    return json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": manifests}, indent=2,
    )  # fmt: skip


def pushed(platform: str) -> DigestRecord:
    """The record of a one-platform build (an index: its image and its attestation)."""
    return DigestRecord(image=IMAGE, platform=platform, digest=digest_of(index(platform)))


class Registry:
    """Answers `imagetools inspect --raw` for what was pushed and for what `create` wrote."""

    def __init__(self, fake: FakeRunner, *platforms: str) -> None:
        self.blobs = {f"{IMAGE}@{digest_of(index(p))}": index(p) for p in platforms}
        self.tags: dict[str, str] = {}
        fake.on("buildx", "imagetools", "inspect", answer=self.inspect)
        fake.on("buildx", "imagetools", "create", answer=self.create)

    def inspect(self, call: Call) -> Completed:
        ref = call.args[3]
        raw = self.blobs.get(ref) or self.tags.get(ref)
        if raw is None:
            return Completed(1, stderr=f"ERROR: {ref}: not found\n")
        return Completed(0, stdout=raw)

    def create(self, call: Call) -> Completed:
        sources = [a for a in call.args if "@sha256:" in a]
        gone = [s for s in sources if s not in self.blobs]
        if gone:
            return Completed(1, stderr=f"ERROR: {gone[0]}: not found\n")
        platforms = [json.loads(self.blobs[s])["manifests"][0]["platform"] for s in sources]
        texts = [
            "/".join(v for v in (p["os"], p["architecture"], p.get("variant")) if v)
            for p in platforms
        ]
        if "--dry-run" in call.args:
            return Completed(0, stdout=index(*texts) + "\n")
        tags = [call.args[i + 1] for i, a in enumerate(call.args) if a == "-t"]
        for tag in tags:
            self.tags[tag] = index(*texts)
        return Completed(0)


def writes(fake: FakeRunner) -> list[Call]:
    """The `imagetools create` calls that write (not the `--dry-run` previews)."""
    return [c for c in fake.find("buildx", "imagetools", "create") if "--dry-run" not in c.args]
