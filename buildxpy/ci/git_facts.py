"""What is being built, from git: the ref, the commit, its time and the remote. From CI variables
first (GitHub Actions, GitLab CI), then from the checkout itself.

git runs directly through subprocess, not buildxpy's docker Runner: these are read-only git queries.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from buildxpy.ci.git_queries import answers_for, on_github
from buildxpy.ci.semver import parse_semver, precedence
from buildxpy.errors import ConfigError

RefKind = Literal["tag", "branch", "pr", "detached"]

# When neither CI nor origin/HEAD names the default branch, these names are taken to be it, but
# only while checked out: a feature branch then simply has no default branch to compare with.
MAINLINE_BRANCHES = ("main", "master")

_SCP_REMOTE = r"^(?:[^@/]+@)?(?P<host>[A-Za-z0-9.-]{2,}):(?P<path>[^/].*)$"
_SHA = r"^[0-9a-f]{7,64}$"
_PR_REF = r"^refs/pull/(?P<number>[0-9]+)/(?:merge|head)$"
_HTTP_SCHEMES = frozenset({"http", "https"})
# Remotes reached over ssh or git:// are published over https on every common forge.
_SSH_SCHEMES = frozenset({"ssh", "git", "git+ssh", "ssh+git"})


@dataclass(frozen=True, slots=True)
class GitFacts:
    """What the tags and labels are made from; ``commit_time`` is the committer time in UTC."""

    ref_kind: RefKind
    ref_name: str  # tag or branch name; a PR's head branch when known; "" when detached
    sha: str
    commit_time: str | None = None
    remote_url: str | None = None
    default_branch: str | None = None
    pr_number: int | None = None

    @property
    def is_default_branch(self) -> bool:
        return self.ref_kind == "branch" and self.ref_name == self.default_branch


def clean_remote_url(url: str) -> str | None:
    """A browsable https URL of a remote, without credentials, port of ssh, query or ``.git``.

    ``None`` for a local path or ``file://`` remote: there is nothing to link to.
    """
    url = url.strip()
    if "://" in url:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        if not host or (scheme not in _HTTP_SCHEMES and scheme not in _SSH_SCHEMES):
            return None
        if ":" in host:
            host = f"[{host}]"
        try:
            port = parts.port if scheme in _HTTP_SCHEMES else None
        except ValueError:
            return None
        netloc = f"{host}:{port}" if port else host
        scheme = scheme if scheme in _HTTP_SCHEMES else "https"
        path = parts.path
    else:
        match = re.match(_SCP_REMOTE, url)
        if match is None:
            return None
        scheme, netloc, path = "https", match["host"].lower(), match["path"]
    path = path.rstrip("/").removesuffix(".git").rstrip("/")
    if path and not path.startswith("/"):
        path = f"/{path}"
    return f"{scheme}://{netloc}{path}"


def git_facts(cwd: Path, environ: Mapping[str, str]) -> GitFacts:
    """The ref, commit and remote being built: from CI variables, else from the checkout at ``cwd``.

    git runs directly through subprocess, not buildxpy's docker Runner: these are read-only git queries.
    """
    if on_github(environ):
        return _from_github(cwd, environ)
    if environ.get("CI_COMMIT_SHA"):
        return _from_gitlab(cwd, environ)
    return _from_checkout(cwd)


def _from_github(cwd: Path, environ: Mapping[str, str]) -> GitFacts:
    event = _read_event(environ.get("GITHUB_EVENT_PATH"))
    ref = environ.get("GITHUB_REF") or _github_ref(environ)
    if environ.get("GITHUB_EVENT_NAME") == "pull_request_target":
        # This event runs on the base branch's ref; the pull request is only in the payload.
        number = _lookup(event, "number") or _lookup(event, "pull_request", "number")
        if not isinstance(number, int):
            raise ConfigError("pull_request_target: no pull request number in GITHUB_EVENT_PATH")
        ref = f"refs/pull/{number}/merge"
    sha = _ci_sha(environ, "GITHUB_SHA")
    kind, name, number = _parse_ref(ref, head_ref=environ.get("GITHUB_HEAD_REF", ""))
    default = _lookup(event, "repository", "default_branch")
    server = environ.get("GITHUB_SERVER_URL", "https://github.com")
    repository = environ.get("GITHUB_REPOSITORY")
    remote = clean_remote_url(f"{server}/{repository}") if repository else None
    return GitFacts(
        ref_kind=kind,
        ref_name=name,
        sha=sha,
        commit_time=_commit_time(cwd, sha) or _event_commit_time(event, sha),
        remote_url=remote or _remote_url(cwd),
        default_branch=_default_branch(default if isinstance(default, str) else None, kind, name),
        pr_number=number,
    )


def _github_ref(environ: Mapping[str, str]) -> str:
    name = environ.get("GITHUB_REF_NAME", "")
    return f"refs/tags/{name}" if environ.get("GITHUB_REF_TYPE") == "tag" else f"refs/heads/{name}"


def _parse_ref(ref: str, *, head_ref: str) -> tuple[RefKind, str, int | None]:
    if match := re.match(_PR_REF, ref):
        return "pr", head_ref, int(match["number"])
    if ref.startswith("refs/tags/"):
        return "tag", ref.removeprefix("refs/tags/"), None
    if ref.startswith("refs/heads/"):
        return "branch", ref.removeprefix("refs/heads/"), None
    return "detached", "", None


def _from_gitlab(cwd: Path, environ: Mapping[str, str]) -> GitFacts:
    sha = _ci_sha(environ, "CI_COMMIT_SHA")
    kind: RefKind
    number: int | None = None
    iid = environ.get("CI_MERGE_REQUEST_IID", "")
    if tag := environ.get("CI_COMMIT_TAG"):
        kind, name = "tag", tag
    elif iid.isdigit():
        kind, number = "pr", int(iid)
        name = environ.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or environ.get(
            "CI_COMMIT_REF_NAME", ""
        )
    elif branch := environ.get("CI_COMMIT_BRANCH") or environ.get("CI_COMMIT_REF_NAME"):
        kind, name = "branch", branch
    else:
        kind, name = "detached", ""
    project = environ.get("CI_PROJECT_URL")
    return GitFacts(
        ref_kind=kind,
        ref_name=name,
        sha=sha,
        commit_time=_commit_time(cwd, sha) or _utc(environ.get("CI_COMMIT_TIMESTAMP")),
        remote_url=(clean_remote_url(project) if project else None) or _remote_url(cwd),
        default_branch=_default_branch(environ.get("CI_DEFAULT_BRANCH") or None, kind, name),
        pr_number=number,
    )


def _ci_sha(environ: Mapping[str, str], name: str) -> str:
    # It becomes a git argument and a tag, so anything but a commit id is refused.
    sha = environ[name].strip().lower()
    if not re.match(_SHA, sha):
        raise ConfigError(f"{name} is not a commit id: {environ[name]!r}")
    return sha


def _from_checkout(cwd: Path) -> GitFacts:
    if shutil.which("git") is None:
        raise ConfigError(
            'tags_from = "git" needs git on PATH or CI variables (GITHUB_REF and GITHUB_SHA, '
            "or CI_COMMIT_SHA); found neither"
        )
    head, tags, branch, origin_head, remote = answers_for(cwd)
    sha, _, seconds = (head or "").partition(" ")
    if not re.match(_SHA, sha):
        raise ConfigError(f'tags_from = "git": {cwd} is not in a git checkout with a commit')
    kind: RefKind
    # A tag on HEAD wins over the branch: building a tagged commit is building that release.
    if tag := _pick_tag((tags or "").split()):
        kind, name = "tag", tag
    elif branch:
        kind, name = "branch", branch
    else:
        kind, name = "detached", ""
    default = origin_head.partition("/")[2] if origin_head else None
    return GitFacts(
        ref_kind=kind,
        ref_name=name,
        sha=sha,
        commit_time=_from_seconds(seconds),
        remote_url=clean_remote_url(remote) if remote else None,
        default_branch=_default_branch(default or None, kind, name),
    )


def _pick_tag(names: list[str]) -> str | None:
    """Of the tags on one commit, the highest semver one, else the first by name."""
    ordered = sorted(names)
    versions = [(version, name) for name in ordered if (version := parse_semver(name))]
    if versions:
        return max(versions, key=lambda pair: precedence(pair[0]))[1]
    return ordered[0] if ordered else None


def _default_branch(known: str | None, kind: RefKind, name: str) -> str | None:
    if known:
        return known
    return name if kind == "branch" and name in MAINLINE_BRANCHES else None


def _commit_time(cwd: Path, sha: str) -> str | None:
    return _from_seconds(
        git_output(cwd, "-c", "log.showSignature=false", "log", "-1", "--format=%ct", sha, "--")
    )


def _from_seconds(seconds: str | None) -> str | None:
    # %ct is the committer time: rebuilding one commit gives one `created`, whatever the clock says.
    if not seconds or not seconds.isdigit():
        return None
    return _format(datetime.fromtimestamp(int(seconds), tz=UTC))


def _remote_url(cwd: Path) -> str | None:
    url = git_output(cwd, "remote", "get-url", "origin")
    return clean_remote_url(url) if url else None


def git_output(cwd: Path, *args: str) -> str | None:
    """git's trimmed output, or ``None`` when git is missing, fails or ``cwd`` is unusable."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _read_event(path: str | None) -> object:
    if not path:
        return None
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _lookup(data: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _event_commit_time(event: object, sha: str) -> str | None:
    """A push payload's timestamp for ``sha``, for when the checkout cannot answer."""
    commits = _lookup(event, "commits")
    candidates = [_lookup(event, "head_commit")]
    candidates += commits if isinstance(commits, list) else []
    for commit in candidates:
        timestamp = _lookup(commit, "timestamp")
        if _lookup(commit, "id") == sha and isinstance(timestamp, str):
            return _utc(timestamp)
    return None


def _utc(text: str | None) -> str | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _format(moment)


def _format(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def commit_epoch(cwd: Path) -> str | None:
    """The committer time of the commit checked out at ``cwd``, in seconds since the epoch (what
    ``SOURCE_DATE_EPOCH`` holds), or None outside a checkout."""
    return git_output(
        cwd, "-c", "log.showSignature=false", "log", "-1", "--format=%ct", "HEAD", "--"
    )
