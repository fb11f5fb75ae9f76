"""A rebuild check as people read it (one line a platform, then what differs beneath it) and as
JSON."""

from __future__ import annotations

from typing import Any

from buildxpy.rebuilds.check import RebuildCheck
from buildxpy.rebuilds.comparison import LayerChange, PlatformCheck

# How many files a layer names before it says how many more differ.
FILES_SHOWN = 20


def lines(result: RebuildCheck) -> list[str]:
    width = max(len(check.platform) for check in result.platforms)
    out: list[str] = []
    for check in result.platforms:
        if check.same:
            out.append(f"{check.platform.ljust(width)}  same     {check.pushed}")
            continue
        rebuilt = check.rebuilt or "nothing (the rebuild made no image for it)"
        out.append(f"{check.platform.ljust(width)}  differs  pushed {check.pushed}, "
                   f"rebuilt {rebuilt}")  # fmt: skip
        if check.manifest:
            out.append(f"    manifest: {', '.join(check.manifest)}")
        if check.config:
            out.append(f"    config: {', '.join(check.config)}")
        out += [f"    {line}" for layer in check.layers for line in _layer_lines(layer)]
        if _times_only(check):
            out.append(f"    {TIMES_ONLY}")
    return out


TIMES_ONLY = (
    "only file times differ: a step was taken from the cache of a build with another "
    "SOURCE_DATE_EPOCH, whose times BuildKit keeps; build with --no-cache, or keep the epoch fixed"
)


def _times_only(check: PlatformCheck) -> bool:
    changes = [change for layer in check.layers for change in layer.files]
    return bool(changes) and all(change.what == ("mtime",) for change in changes)


def _layer_lines(layer: LayerChange) -> list[str]:
    if layer.pushed is None or layer.rebuilt is None:
        which = "rebuild" if layer.pushed is None else "pushed image"
        head = f"layer {layer.number}: only in the {which}"
    else:
        head = (
            f"layer {layer.number}: {_short(layer.pushed)} pushed, {_short(layer.rebuilt)} rebuilt"
        )
    if layer.unread:
        return [f"{head}; its files cannot be listed: {layer.unread}"]
    shown = [f"  {change.path} ({', '.join(change.what)})" for change in layer.files[:FILES_SHOWN]]
    more = len(layer.files) - FILES_SHOWN
    return [head, *shown, *([f"  … and {more} more"] if more > 0 else [])]


def failure(result: RebuildCheck) -> str:
    differing = [check.platform for check in result.platforms if not check.same]
    return (
        f"rebuild-check: {result.ref} did not rebuild the same: {', '.join(differing)} differ"
        + ("s" if len(differing) == 1 else "")
    )


def as_json(result: RebuildCheck) -> dict[str, Any]:
    return {
        "ref": result.ref,
        "revision": result.revision,
        "source_date_epoch": result.source_date_epoch,
        "same": result.same,
        "platforms": [_platform_json(check) for check in result.platforms],
    }


def _platform_json(check: PlatformCheck) -> dict[str, Any]:
    return {
        "platform": check.platform,
        "same": check.same,
        "pushed": check.pushed,
        "rebuilt": check.rebuilt,
        "manifest": list(check.manifest),
        "config": list(check.config),
        "layers": [
            {
                "number": layer.number,
                "pushed": layer.pushed,
                "rebuilt": layer.rebuilt,
                "unread": layer.unread or None,
                "files": [{"path": f.path, "differs": list(f.what)} for f in layer.files],
            }
            for layer in check.layers
        ],
    }


def _short(digest: str) -> str:
    return digest[:19]
