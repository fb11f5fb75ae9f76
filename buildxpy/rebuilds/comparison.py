"""One platform's pushed image beside its rebuild: the same manifest digest, or the config fields,
the layers and the files inside them that differ."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError
from buildxpy.rebuilds.layer_files import FileChange, differences, listing
from buildxpy.rebuilds.oci_archive import OciArchive
from buildxpy.rebuilds.pushed import PushedImage, fetch_layers


@dataclass(frozen=True, slots=True)
class LayerChange:
    # 1-based, as `docker history` counts from the base up.
    number: int
    pushed: str | None
    rebuilt: str | None
    files: tuple[FileChange, ...] = ()
    # Why the files could not be listed, when they could not.
    unread: str = ""


@dataclass(frozen=True, slots=True)
class PlatformCheck:
    platform: str
    pushed: str
    # None when the rebuild made no image for this platform.
    rebuilt: str | None
    # The dotted names of the manifest's and the config's fields that differ.
    manifest: tuple[str, ...] = ()
    config: tuple[str, ...] = ()
    layers: tuple[LayerChange, ...] = field(default=())

    @property
    def same(self) -> bool:
        return self.pushed == self.rebuilt


def compare(
    runner: Runner, image: PushedImage, rebuilt: OciArchive, builder: str, workdir: Path
) -> PlatformCheck:
    digest = rebuilt.images().get(image.platform)
    if digest is None or digest == image.digest:
        return PlatformCheck(image.platform, image.digest, digest)
    manifest = rebuilt.json_blob(digest)
    config = rebuilt.json_blob(str(manifest["config"]["digest"]))
    layers = [str(layer["digest"]) for layer in manifest.get("layers", [])]
    return PlatformCheck(
        image.platform,
        image.digest,
        digest,
        manifest=manifest_differences(image.manifest, manifest),
        config=config_differences(image.config, config),
        layers=_layer_changes(runner, image, layers, rebuilt, builder, workdir),
    )


def _layer_changes(
    runner: Runner,
    image: PushedImage,
    layers: list[str],
    rebuilt: OciArchive,
    builder: str,
    workdir: Path,
) -> tuple[LayerChange, ...]:
    differing = [
        (number, pushed, mine)
        for number, (pushed, mine) in enumerate(zip_longest(image.layers, layers), start=1)
        if pushed != mine
    ]
    if not differing:
        return ()
    with OciArchive(fetch_layers(runner, image, builder, workdir)) as served:
        return tuple(
            _layer_change(number, pushed, mine, served, rebuilt)
            for number, pushed, mine in differing
        )


def _layer_change(
    number: int, pushed: str | None, mine: str | None, served: OciArchive, rebuilt: OciArchive
) -> LayerChange:
    try:
        before = _files(served, pushed)
        after = _files(rebuilt, mine)
    except BuildxpyError as exc:
        return LayerChange(number, pushed, mine, unread=str(exc))
    return LayerChange(number, pushed, mine, tuple(differences(before, after)))


def _files(archive: OciArchive, digest: str | None) -> dict[str, Any]:
    if digest is None:
        return {}
    with archive.blob(digest) as stream:
        return listing(stream)


# What a config diff leaves out: the parts docker fills in on reading (their absence and their
# emptiness are the same image).
_EMPTY: tuple[object, ...] = (None, "", [], {})


def manifest_differences(pushed: dict[str, Any], rebuilt: dict[str, Any]) -> tuple[str, ...]:
    """What differs in the manifests beside the config and the layers (named on their own): the
    media type, the annotations."""
    outside = ("config", "layers")
    return _differences(
        {k: v for k, v in pushed.items() if k not in outside},
        {k: v for k, v in rebuilt.items() if k not in outside},
    )


def config_differences(pushed: dict[str, Any], rebuilt: dict[str, Any]) -> tuple[str, ...]:
    """The dotted names of the config fields that differ (``created``, ``config.Env``,
    ``config.Labels.KEY``, ``history``, ``rootfs.diff_ids``…)."""
    return _differences(pushed, rebuilt)


def _differences(pushed: dict[str, Any], rebuilt: dict[str, Any]) -> tuple[str, ...]:
    left, right = _flat(pushed), _flat(rebuilt)
    return tuple(
        key
        for key in sorted(left.keys() | right.keys())
        if left.get(key) != right.get(key)
        and not (left.get(key) in _EMPTY and right.get(key) in _EMPTY)
    )


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        # Labels and annotations are one field each: the one that moved is named; the other
        # tables stay whole.
        if isinstance(value, dict) and (
            name in ("config", "rootfs", "annotations") or name.endswith("Labels")
        ):
            out.update(_flat(value, name + "."))
        else:
            out[name] = value
    return out
