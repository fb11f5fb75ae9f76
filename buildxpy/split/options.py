"""What a merge of digest records is asked for and what it returns: the ``--require`` policy, the
index annotations and ``MergeResult``.

Kept apart from ``index_merge`` (which reads the registry) so that a plain build, whose result
has a ``merge`` field, does not load the merge machinery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import Field

from buildxpy.errors import ConfigError
from buildxpy.platforms.names import Platform, parse_list
from buildxpy.result_model import ResultModel
from buildxpy.verification.report import VerifyReport

Require = Literal["all"] | Sequence[Platform]
OCI_PREFIX = "org.opencontainers.image."


class MergeResult(ResultModel):
    image: str
    refs: list[str]
    # The index's digest (None under --dry-run).
    digest: str | None
    platforms: list[str]
    sources: list[str]
    attestations: int = 0
    annotations: dict[str, str] = Field(default={})
    # Platforms configured or recorded but not in the index, and why.
    left_out: dict[str, str] = Field(default={})
    dry_run: bool = False
    # What `buildxpy verify` found in the new index; None when it was not checked.
    verification: VerifyReport | None = None


def require_from(text: str | None) -> Require:
    """``--require``: ``all`` or a comma list of platforms."""
    if text is None or text.strip().lower() == "all":
        return "all"
    platforms = parse_list([text])
    if not platforms:
        raise ConfigError("--require needs `all` or at least one platform")
    return platforms


def oci_annotations(labels: Mapping[str, str]) -> dict[str, str]:
    """The OCI labels the images carry, repeated on the index (as metadata-action does)."""
    return {k: v for k, v in labels.items() if k.startswith(OCI_PREFIX)}


def index_annotations(items: Sequence[str]) -> dict[str, str]:
    """The index's share of build annotations (``index:K=V``, or a bare ``K=V``, which buildx puts
    on the index and on each manifest)."""
    wanted = [
        i.removeprefix("index:")
        for i in items
        if i.startswith("index:") or ":" not in i.split("=", 1)[0]
    ]
    return annotations_from(wanted)


def annotations_from(items: Sequence[str] | None) -> dict[str, str]:
    """``--annotation K=V`` flags."""
    out: dict[str, str] = {}
    for item in items or ():
        key, eq, value = item.partition("=")
        if not eq:
            raise ConfigError(f"invalid annotation {item!r}: expected KEY=VALUE")
        out[key.strip()] = value
    return checked_annotations(out)


def checked_annotations(annotations: Mapping[str, str]) -> dict[str, str]:
    for key in annotations:
        if not key.strip() or "=" in key:
            # buildx splits `index:KEY=VALUE` at the first '='.
            raise ConfigError(f"{key!r} cannot be an annotation key")
    return dict(annotations)
