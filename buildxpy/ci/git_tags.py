"""Image tags and OCI labels from git, as docker/metadata-action computes them (``tags_from = "git"``)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from buildxpy.ci.git_facts import GitFacts, clean_remote_url
from buildxpy.ci.semver import SemVer, parse_semver

MAX_TAG_LENGTH = 128
_NOT_IN_TAG = r"[^A-Za-z0-9_.-]+"
_PREFIX = r"^(?:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$"
_SUFFIX = r"^[A-Za-z0-9_.-]*$"


class TagRules(BaseModel):
    """Which tags to make; the defaults match metadata-action's usual semver/ref/edge/sha setup."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    semver: bool = True
    tag: bool = True
    branch: bool = True
    edge: bool = True
    edge_branch: str | None = None  # None: the repository's default branch
    pr: bool = True
    sha: bool = True
    sha_length: int = Field(default=7, ge=4, le=40)
    latest: Literal["auto", "true", "false"] = "auto"
    prefix: str = ""
    suffix: str = ""
    prefix_latest: bool = False
    suffix_latest: bool = False

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not re.match(_PREFIX, value) or len(value) > 64:
            raise ValueError(
                f"invalid tag prefix {value!r}: use at most 64 of letters, digits, '_', '.' "
                "and '-', starting with a letter, digit or '_'"
            )
        return value

    @field_validator("suffix")
    @classmethod
    def _suffix(cls, value: str) -> str:
        if not re.match(_SUFFIX, value) or len(value) > 64:
            raise ValueError(
                f"invalid tag suffix {value!r}: use at most 64 of letters, digits, '_', '.' and '-'"
            )
        return value


def sanitize_tag(value: str) -> str:
    """Runs of characters a docker tag cannot hold become one ``-``: ``feature/x`` → ``feature-x``."""
    return re.sub(_NOT_IN_TAG, "-", value)


def tags_from_git(facts: GitFacts, rules: TagRules) -> list[str]:
    """The image's tags, in metadata-action's priority order (semver, edge, ref, sha, latest)."""
    version = parse_semver(facts.ref_name) if facts.ref_kind == "tag" else None
    values: list[str] = []
    if facts.ref_kind == "tag":
        if rules.semver and version is not None:
            values.extend(_semver_values(version))
        elif rules.tag:
            values.append(facts.ref_name)
    elif facts.ref_kind == "branch":
        edge_branch = rules.edge_branch or facts.default_branch
        if rules.edge and edge_branch is not None and facts.ref_name == edge_branch:
            values.append("edge")
        if rules.branch:
            values.append(facts.ref_name)
    elif facts.ref_kind == "pr" and rules.pr and facts.pr_number is not None:
        values.append(f"pr-{facts.pr_number}")
    if rules.sha:
        values.append(f"sha-{facts.sha[: rules.sha_length]}")
    tags = [_affix(value, rules.prefix, rules.suffix) for value in values]
    if _wants_latest(rules, version):
        prefix = rules.prefix if rules.prefix_latest else ""
        suffix = rules.suffix if rules.suffix_latest else ""
        tags.append(f"{prefix}latest{suffix}")
    return list(dict.fromkeys(tag for tag in tags if tag))


def oci_labels(
    facts: GitFacts, *, title: str | None, version: str | None, licenses: str | None = None
) -> dict[str, str]:
    """``org.opencontainers.image.*`` labels; unknown values are left out rather than set empty.

    ``version`` is normally the first of ``tags_from_git``; ``title`` the image name's last part.
    """
    source = clean_remote_url(facts.remote_url) if facts.remote_url else None
    values = {
        "created": facts.commit_time,
        "licenses": licenses,
        "revision": facts.sha,
        "source": source,
        "title": title,
        "url": source,
        "version": version,
    }
    return {f"org.opencontainers.image.{key}": value for key, value in values.items() if value}


def _semver_values(version: SemVer) -> list[str]:
    # A pre-release only ever names itself: it must not move 1.2 or 1 away from a release.
    if version.prerelease:
        return [version.version]
    values = [version.version, f"{version.major}.{version.minor}"]
    # 0.y.z is initial development (semver.org §4), so a bare `0` would promise nothing.
    if version.major > 0:
        values.append(str(version.major))
    return values


def _wants_latest(rules: TagRules, version: SemVer | None) -> bool:
    if rules.latest != "auto":
        return rules.latest == "true"
    # Only a stable release moves `latest`; a non-semver tag may well be a pre-release.
    return version is not None and not version.prerelease


def _affix(value: str, prefix: str, suffix: str) -> str:
    core = sanitize_tag(value)
    if not prefix:
        core = core.lstrip(".-")  # a tag may not start with these
    # Cut the middle, not the suffix: variants told apart by suffix must stay apart.
    core = core[: MAX_TAG_LENGTH - len(prefix) - len(suffix)]
    return f"{prefix}{core}{suffix}" if core else ""
