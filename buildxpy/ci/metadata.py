"""Tags and ``org.opencontainers.image.*`` metadata for one build, from git and the project.

The metadata goes on every image as labels (the image config, what ``docker inspect`` shows) and,
for a pushed multi-platform image, as annotations on the index and on each manifest too: registries
such as GHCR read a multi-platform image's description and source from the index. A value the user
gives for one of these keys, as a label or as an annotation at any level, replaces the computed one
everywhere; the user's other labels and annotations stay where they were given.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from buildxpy import log
from buildxpy.builds.inputs import annotation_parts
from buildxpy.ci.git_facts import GitFacts, git_facts
from buildxpy.ci.git_tags import TagRules, oci_labels, tags_from_git
from buildxpy.ci.semver import parse_semver
from buildxpy.errors import ConfigError

OCI_PREFIX = "org.opencontainers.image."
MANAGED_KEYS = frozenset(
    f"{OCI_PREFIX}{key}"
    for key in ("created", "licenses", "revision", "source", "title", "url", "version")
)
# Licences longer than this are prose, not an SPDX expression.
MAX_LICENSE_TEXT = 100


@dataclass(frozen=True, slots=True)
class Metadata:
    tags: tuple[str, ...]
    labels: Mapping[str, str]
    annotations: tuple[str, ...]
    version: str | None = None


def facts_for(directory: Path, environ: Mapping[str, str], *, required: bool) -> GitFacts | None:
    """The checkout's or the CI's facts. Only ``tags_from = "git"`` needs them: OCI metadata
    without git is what the project alone says."""
    try:
        return git_facts(directory, environ)
    except ConfigError:
        if required:
            raise
        log.get().debug("no git facts for the OCI metadata", directory=str(directory))
        return None


def join_tag(image: str, tag: str) -> str:
    return tag if "/" in tag or ":" in tag else f"{image}:{tag}"


def compute(
    *,
    image: str,
    static_tags: Sequence[str],
    facts: GitFacts | None,
    rules: TagRules | None,
    oci: bool,
    licenses: str | None,
    labels: Mapping[str, str],
    annotations: Sequence[str],
    index: bool,
) -> Metadata:
    """``rules`` given: tags from ``facts`` first, then the static ones. ``index``: the build
    pushes an index (several platforms), so the index is annotated too."""
    computed = tags_from_git(facts, rules) if facts is not None and rules is not None else []
    tags = tuple(dict.fromkeys([*(join_tag(image, t) for t in computed), *static_tags]))
    version = _version(computed, facts, static_tags)
    if not oci:
        return Metadata(tags, dict(labels), tuple(annotations), version)
    values = oci_labels(
        facts or _NO_FACTS,
        title=image.rsplit("/", 1)[-1],
        version=version,
        licenses=licenses,
    )
    # The user's value for one of these keys replaces the computed one (or stands in for a missing
    # one) everywhere; other keys stay where the user put them.
    values.update({k: v for k, v in _given(labels, annotations).items() if k in MANAGED_KEYS})
    merged_labels = {**values, **labels}
    levels = ("index", "manifest") if index else ("manifest",)
    given = {_level_key(a) for a in annotations}
    auto = [
        f"{level}:{key}={value}"
        for level in levels
        for key, value in values.items()
        if (level, key) not in given
    ]
    return Metadata(tags, merged_labels, (*auto, *annotations), version)


def project_license(directory: Path) -> str | None:
    """``[project] license`` of ``directory/pyproject.toml``: an SPDX expression (PEP 639) or a
    short ``{text = …}``."""
    try:
        data = tomllib.loads((directory / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    project = data.get("project")
    value = project.get("license") if isinstance(project, dict) else None
    if isinstance(value, dict):
        value = value.get("text")
    if isinstance(value, str) and value.strip() and "\n" not in value.strip():
        text = value.strip()
        return text if len(text) <= MAX_LICENSE_TEXT else None
    return None


_NO_FACTS = GitFacts(ref_kind="detached", ref_name="", sha="")


def _version(computed: Sequence[str], facts: GitFacts | None, static: Sequence[str]) -> str | None:
    if computed:
        return computed[0]
    if facts is not None and facts.ref_kind == "tag":
        semver = parse_semver(facts.ref_name)
        if semver is not None:
            return semver.version
    if static:
        return static[0].rpartition(":")[2] if "@" not in static[0] else None
    return None


def _given(labels: Mapping[str, str], annotations: Sequence[str]) -> dict[str, str]:
    """The OCI values the user set, by key: they replace the computed ones at every level."""
    given = {key: value for key, value in labels.items() if key.startswith(OCI_PREFIX)}
    for annotation in annotations:
        _, key, value = annotation_parts(annotation)
        if key.startswith(OCI_PREFIX):
            given.setdefault(key, value)
    return given


def _level_key(annotation: str) -> tuple[str, str]:
    level, key, _ = annotation_parts(annotation)
    return level, key
