from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from pydantic import ValidationError

from buildxpy.ci import git_queries
from buildxpy.ci.git_facts import GitFacts, RefKind, clean_remote_url, git_facts
from buildxpy.ci.git_tags import TagRules, oci_labels, sanitize_tag, tags_from_git
from buildxpy.ci.semver import parse_semver
from buildxpy.errors import ConfigError

COMMITTED = "2024-03-04T05:06:07+02:00"
COMMITTED_UTC = "2024-03-04T03:06:07Z"
# A different author time proves `created` is the committer's.
AUTHORED = "2001-01-01T00:00:00+00:00"
REMOTE = "https://builder:s3cret-token@git.example.com/team/app.git"
SOURCE = "https://git.example.com/team/app"
SHA = "0123456789abcdef0123456789abcdef01234567"
NO_CI: Mapping[str, str] = {}
SEMVER_1_2_3 = ["1.2.3", "1.2", "1", "{sha}", "latest"]


@pytest.fixture(autouse=True)
def _no_git_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hook's GIT_DIR or the caller's global config must not reach the repositories made here."""
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_COMMITTER_DATE": COMMITTED, "GIT_AUTHOR_DATE": AUTHORED}
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def make_repo(path: Path, *, branch: str = "main", remote: str | None = REMOTE) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", branch)
    git(path, "config", "user.name", "Test Builder")
    git(path, "config", "user.email", "builder@example.com")
    git(path, "config", "commit.gpgsign", "false")
    git(path, "config", "tag.gpgsign", "false")
    if remote:
        git(path, "remote", "add", "origin", remote)
    git(path, "commit", "-q", "--allow-empty", "-m", "first")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "app")


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD")


def expected(table: Sequence[str], sha: str) -> list[str]:
    return [tag.replace("{sha}", f"sha-{sha[:7]}") for tag in table]


def tags_of(repo: Path, environ: Mapping[str, str] = NO_CI, **rules: object) -> list[str]:
    return tags_from_git(git_facts(repo, environ), TagRules.model_validate(rules))


def write_event(tmp_path: Path, payload: object) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return str(path)


# --- a real checkout, no CI variables ------------------------------------------------------------


@pytest.mark.parametrize(
    ("commands", "table"),
    [
        pytest.param([], ["edge", "main", "{sha}"], id="default-branch"),
        pytest.param([["tag", "v1.2.3"]], SEMVER_1_2_3, id="semver"),
        pytest.param([["tag", "-a", "-m", "rc", "v2.0.0-rc.1"]], ["2.0.0-rc.1", "{sha}"], id="rc"),
        pytest.param([["tag", "v0.3.1"]], ["0.3.1", "0.3", "{sha}", "latest"], id="zero-major"),
        pytest.param([["tag", "v1.2.3+build.5"]], SEMVER_1_2_3, id="build-metadata"),
        pytest.param([["tag", "release-5"]], ["release-5", "{sha}"], id="non-semver"),
        pytest.param([["tag", "release/5"]], ["release-5", "{sha}"], id="non-semver-slash"),
        pytest.param([["tag", "v1.2"]], ["v1.2", "{sha}"], id="two-part-version"),
        pytest.param(
            [["tag", "nightly"], ["tag", "v2.0.0-rc.1"], ["tag", "v2.0.0"], ["tag", "v1.9.9"]],
            ["2.0.0", "2.0", "2", "{sha}", "latest"],
            id="highest-semver-of-several",
        ),
        pytest.param(
            [["switch", "-q", "-c", "feature/login-form"]],
            ["feature-login-form", "{sha}"],
            id="branch-with-slash",
        ),
        pytest.param(
            [["switch", "-q", "-c", "Fix/#12_Crash.v2"]],
            ["Fix-12_Crash.v2", "{sha}"],
            id="branch-case-kept-runs-collapsed",
        ),
        pytest.param(
            [["switch", "-q", "-c", "#7-hotfix"]], ["7-hotfix", "{sha}"], id="branch-leading-hash"
        ),
        pytest.param([["switch", "-q", "--detach", "HEAD"]], ["{sha}"], id="detached"),
        pytest.param(
            [["tag", "v1.2.3"], ["switch", "-q", "--detach", "v1.2.3"]],
            SEMVER_1_2_3,
            id="detached-at-tag",
        ),
    ],
)
def test_tags_from_a_checkout(repo: Path, commands: list[list[str]], table: list[str]) -> None:
    for command in commands:
        git(repo, *command)
    assert tags_of(repo) == expected(table, head(repo))


def test_a_long_branch_name_is_cut_to_128_characters(repo: Path) -> None:
    git(repo, "switch", "-q", "-c", "b" * 200)
    assert tags_of(repo) == ["b" * 128, f"sha-{head(repo)[:7]}"]


def test_facts_of_a_checkout(repo: Path) -> None:
    facts = git_facts(repo, NO_CI)
    assert facts == GitFacts(
        ref_kind="branch",
        ref_name="main",
        sha=head(repo),
        commit_time=COMMITTED_UTC,
        remote_url=SOURCE,
        default_branch="main",
    )
    assert facts.is_default_branch


def test_origin_head_names_the_default_branch(repo: Path) -> None:
    git(repo, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/develop")
    sha = f"sha-{head(repo)[:7]}"
    assert tags_of(repo) == ["main", sha]
    git(repo, "switch", "-q", "-c", "develop")
    assert git_facts(repo, NO_CI).default_branch == "develop"
    assert tags_of(repo) == ["edge", "develop", sha]


def test_master_counts_as_default_when_nothing_else_says(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "old", branch="master", remote=None)
    facts = git_facts(repo, NO_CI)
    assert (facts.default_branch, facts.remote_url) == ("master", None)
    assert tags_of(repo) == ["edge", "master", f"sha-{head(repo)[:7]}"]


def test_a_feature_branch_has_no_guessed_default(repo: Path) -> None:
    git(repo, "switch", "-q", "-c", "feature/x")
    facts = git_facts(repo, NO_CI)
    assert facts.default_branch is None
    assert not facts.is_default_branch


def test_created_is_the_commit_time_on_every_run(repo: Path) -> None:
    first = oci_labels(git_facts(repo, NO_CI), title="app", version="main")
    second = oci_labels(git_facts(repo, NO_CI), title="app", version="main")
    assert first["org.opencontainers.image.created"] == COMMITTED_UTC
    assert first == second


@pytest.mark.parametrize(
    "remote",
    [
        REMOTE,
        "https://oauth2:s3cret-token@git.example.com/team/app.git?private_token=s3cret-token",
        "ssh://builder@git.example.com:2222/team/app.git",
        "builder@git.example.com:team/app.git",
    ],
)
def test_labels_never_carry_credentials(tmp_path: Path, remote: str) -> None:
    repo = make_repo(tmp_path / "app", remote=remote)
    git(repo, "tag", "v1.2.3")
    facts = git_facts(repo, NO_CI)
    version = tags_from_git(facts, TagRules())[0]
    labels = oci_labels(facts, title="app", version=version, licenses="MIT")
    assert labels == {
        "org.opencontainers.image.created": COMMITTED_UTC,
        "org.opencontainers.image.licenses": "MIT",
        "org.opencontainers.image.revision": head(repo),
        "org.opencontainers.image.source": SOURCE,
        "org.opencontainers.image.title": "app",
        "org.opencontainers.image.url": SOURCE,
        "org.opencontainers.image.version": "1.2.3",
    }
    assert not any("s3cret" in value or "builder" in value for value in labels.values())


def test_a_directory_outside_git_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with pytest.raises(ConfigError, match="is not in a git checkout with a commit"):
        git_facts(plain, NO_CI)


def test_a_repository_without_commits_is_a_config_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    with pytest.raises(ConfigError, match="is not in a git checkout with a commit"):
        git_facts(empty, NO_CI)


def test_no_git_and_no_ci_is_a_config_error(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_git = tmp_path / "bin"
    no_git.mkdir()
    monkeypatch.setenv("PATH", str(no_git))
    with pytest.raises(ConfigError, match="needs git on PATH or CI variables") as caught:
        git_facts(repo, NO_CI)
    assert "\n" not in str(caught.value)


# --- GitHub Actions -------------------------------------------------------------------------------


def github(**values: str) -> dict[str, str]:
    base = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SHA": SHA,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_EVENT_NAME": "push",
    }
    return base | values


@pytest.mark.parametrize(
    ("environ", "table"),
    [
        pytest.param(github(GITHUB_REF="refs/tags/v1.2.3"), SEMVER_1_2_3, id="tag"),
        pytest.param(
            github(GITHUB_REF="refs/tags/v2.0.0-rc.1"), ["2.0.0-rc.1", "{sha}"], id="rc-tag"
        ),
        pytest.param(
            github(GITHUB_REF="refs/heads/feature/x"), ["feature-x", "{sha}"], id="branch"
        ),
        pytest.param(
            github(
                GITHUB_REF="refs/pull/12/merge",
                GITHUB_REF_NAME="12/merge",
                GITHUB_HEAD_REF="feature/x",
                GITHUB_EVENT_NAME="pull_request",
            ),
            ["pr-12", "{sha}"],
            id="pull-request",
        ),
        pytest.param(
            github(GITHUB_REF_TYPE="tag", GITHUB_REF_NAME="v1.2.3"),
            SEMVER_1_2_3,
            id="ref-name-only",
        ),
    ],
)
def test_tags_under_github_actions(
    tmp_path: Path, environ: dict[str, str], table: list[str]
) -> None:
    assert tags_of(tmp_path, environ) == expected(table, SHA)


def test_github_default_branch_comes_from_the_event(tmp_path: Path) -> None:
    event = write_event(tmp_path, {"repository": {"default_branch": "trunk"}})
    on_trunk = github(GITHUB_REF="refs/heads/trunk", GITHUB_EVENT_PATH=event)
    on_main = github(GITHUB_REF="refs/heads/main", GITHUB_EVENT_PATH=event)
    assert tags_of(tmp_path, on_trunk) == ["edge", "trunk", f"sha-{SHA[:7]}"]
    assert tags_of(tmp_path, on_main) == ["main", f"sha-{SHA[:7]}"]


def test_github_pull_request_target_takes_the_number_from_the_event(tmp_path: Path) -> None:
    event = write_event(tmp_path, {"number": 34, "repository": {"default_branch": "main"}})
    environ = github(
        GITHUB_REF="refs/heads/main",
        GITHUB_EVENT_NAME="pull_request_target",
        GITHUB_EVENT_PATH=event,
    )
    assert tags_of(tmp_path, environ) == ["pr-34", f"sha-{SHA[:7]}"]
    unreadable = environ | {"GITHUB_EVENT_PATH": str(tmp_path / "missing.json")}
    with pytest.raises(ConfigError, match="no pull request number"):
        git_facts(tmp_path, unreadable)


def test_github_facts_without_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    event = write_event(
        tmp_path, {"head_commit": {"id": SHA, "timestamp": COMMITTED}, "repository": {}}
    )
    facts = git_facts(tmp_path, github(GITHUB_REF="refs/heads/main", GITHUB_EVENT_PATH=event))
    assert facts == GitFacts(
        ref_kind="branch",
        ref_name="main",
        sha=SHA,
        commit_time=COMMITTED_UTC,
        remote_url="https://github.com/octo/app",
        default_branch="main",
    )


def test_github_variables_win_over_the_checkout(repo: Path) -> None:
    sha = head(repo)
    facts = git_facts(repo, github(GITHUB_SHA=sha, GITHUB_REF="refs/heads/release/1.x"))
    assert (facts.ref_kind, facts.ref_name, facts.sha) == ("branch", "release/1.x", sha)
    # The commit time still comes from the checkout, the source from the CI's own URL.
    assert (facts.commit_time, facts.remote_url) == (COMMITTED_UTC, "https://github.com/octo/app")


def test_a_sha_that_is_not_a_commit_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GITHUB_SHA is not a commit id"):
        git_facts(tmp_path, github(GITHUB_REF="refs/heads/main", GITHUB_SHA="--output=/tmp/x"))


# --- GitLab CI ------------------------------------------------------------------------------------


def gitlab(**values: str) -> dict[str, str]:
    base = {
        "GITLAB_CI": "true",
        "CI_COMMIT_SHA": SHA,
        "CI_COMMIT_TIMESTAMP": COMMITTED,
        "CI_DEFAULT_BRANCH": "main",
        "CI_PROJECT_URL": "https://gitlab.example.com/group/app",
    }
    return base | values


@pytest.mark.parametrize(
    ("environ", "table"),
    [
        pytest.param(
            gitlab(CI_COMMIT_TAG="v1.2.3", CI_COMMIT_REF_NAME="v1.2.3"), SEMVER_1_2_3, id="tag"
        ),
        pytest.param(
            gitlab(CI_COMMIT_BRANCH="feature/x", CI_COMMIT_REF_NAME="feature/x"),
            ["feature-x", "{sha}"],
            id="branch",
        ),
        pytest.param(
            gitlab(CI_COMMIT_BRANCH="main", CI_COMMIT_REF_NAME="main"),
            ["edge", "main", "{sha}"],
            id="default-branch",
        ),
        pytest.param(
            gitlab(
                CI_MERGE_REQUEST_IID="7",
                CI_MERGE_REQUEST_SOURCE_BRANCH_NAME="feature/x",
                CI_COMMIT_REF_NAME="feature/x",
            ),
            ["pr-7", "{sha}"],
            id="merge-request",
        ),
    ],
)
def test_tags_under_gitlab_ci(tmp_path: Path, environ: dict[str, str], table: list[str]) -> None:
    assert tags_of(tmp_path, environ) == expected(table, SHA)


def test_gitlab_facts(tmp_path: Path) -> None:
    facts = git_facts(tmp_path, gitlab(CI_COMMIT_TAG="v1.2.3"))
    assert facts == GitFacts(
        ref_kind="tag",
        ref_name="v1.2.3",
        sha=SHA,
        commit_time=COMMITTED_UTC,
        remote_url="https://gitlab.example.com/group/app",
        default_branch="main",
    )


# --- the rules, on given facts --------------------------------------------------------------------


def facts(
    kind: RefKind, name: str, *, default: str | None = "main", pr: int | None = None
) -> GitFacts:
    return GitFacts(
        ref_kind=kind,
        ref_name=name,
        sha=SHA,
        default_branch=default,
        pr_number=pr,
    )


SHA7 = f"sha-{SHA[:7]}"


@pytest.mark.parametrize(
    ("given", "rules", "tags"),
    [
        (facts("tag", "v1.2.3"), {"latest": "false"}, ["1.2.3", "1.2", "1", SHA7]),
        (facts("branch", "feature"), {"latest": "true"}, ["feature", SHA7, "latest"]),
        (facts("tag", "v1.2.3"), {"semver": False}, ["v1.2.3", SHA7, "latest"]),
        (facts("tag", "v2.0.0-rc.1"), {"semver": False}, ["v2.0.0-rc.1", SHA7]),
        (facts("tag", "release-5"), {"tag": False}, [SHA7]),
        (facts("tag", "v0.0.4"), {}, ["0.0.4", "0.0", SHA7, "latest"]),
        (facts("branch", "main"), {"sha": False}, ["edge", "main"]),
        (facts("branch", "main"), {"sha_length": 12}, ["edge", "main", f"sha-{SHA[:12]}"]),
        (facts("branch", "main"), {"sha_length": 40}, ["edge", "main", f"sha-{SHA}"]),
        (facts("branch", "main"), {"edge": False}, ["main", SHA7]),
        (facts("branch", "main"), {"branch": False}, ["edge", SHA7]),
        (facts("branch", "main"), {"edge_branch": "develop"}, ["main", SHA7]),
        (facts("branch", "develop"), {"edge_branch": "develop"}, ["edge", "develop", SHA7]),
        (facts("branch", "main", default=None), {}, ["main", SHA7]),
        (facts("branch", "edge", default="edge"), {}, ["edge", SHA7]),
        (facts("branch", "latest"), {"latest": "true"}, ["latest", SHA7]),
        (facts("pr", "feature/x", pr=12), {}, ["pr-12", SHA7]),
        (facts("pr", "feature/x", pr=12), {"pr": False}, [SHA7]),
        (facts("pr", "feature/x", pr=12), {"latest": "auto"}, ["pr-12", SHA7]),
        (facts("detached", ""), {}, [SHA7]),
        (
            facts("tag", "v1.2.3"),
            {"prefix": "alpine-", "suffix": "-slim"},
            [
                "alpine-1.2.3-slim",
                "alpine-1.2-slim",
                "alpine-1-slim",
                f"alpine-{SHA7}-slim",
                "latest",
            ],
        ),
        (
            facts("tag", "v1.2.3"),
            {"prefix": "alpine-", "prefix_latest": True, "suffix": "-slim", "suffix_latest": True},
            [
                "alpine-1.2.3-slim",
                "alpine-1.2-slim",
                "alpine-1-slim",
                f"alpine-{SHA7}-slim",
                "alpine-latest-slim",
            ],
        ),
    ],
)
def test_rules(given: GitFacts, rules: dict[str, object], tags: list[str]) -> None:
    assert tags_from_git(given, TagRules.model_validate(rules)) == tags


def test_cutting_a_long_name_keeps_the_suffix() -> None:
    tags = tags_from_git(facts("branch", "x" * 300), TagRules(suffix="-slim", sha=False))
    assert tags == ["x" * 123 + "-slim"]


@pytest.mark.parametrize(
    "rules",
    [
        {"prefix": "-alpine"},
        {"prefix": "al/pine-"},
        {"suffix": "-sl:im"},
        {"sha_length": 3},
        {"latest": "always"},
        {"tags": True},
    ],
)
def test_invalid_rules_are_refused(rules: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        TagRules.model_validate(rules)


# --- the pieces -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://user:token@host.example/x.git", "https://host.example/x"),
        ("https://token@host.example/x.git/", "https://host.example/x"),
        ("git@github.com:o/r.git", "https://github.com/o/r"),
        ("user:pass@host.example:o/r.git", "https://host.example/o/r"),
        ("github.com:o/r", "https://github.com/o/r"),
        ("ssh://git@GitHub.com:22/o/r.git", "https://github.com/o/r"),
        ("git://host.example/o/r.git", "https://host.example/o/r"),
        ("http://host.example:8080/o/r", "http://host.example:8080/o/r"),
        ("https://u:p@host.example/o/r?private_token=p#frag", "https://host.example/o/r"),
        ("/srv/git/app.git", None),
        ("file:///srv/git/app.git", None),
        ("../app", None),
        ("", None),
    ],
)
def test_clean_remote_url(url: str, clean: str | None) -> None:
    assert clean_remote_url(url) == clean


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("v1.2.3", "1.2.3"),
        ("1.2.3", "1.2.3"),
        ("v2.0.0-rc.1", "2.0.0-rc.1"),
        ("1.2.3+build.5", "1.2.3"),
        ("v1.2", None),
        ("01.2.3", None),
        ("1.2.3-01", None),
        ("release-5", None),
    ],
)
def test_parse_semver(text: str, version: str | None) -> None:
    parsed = parse_semver(text)
    assert (parsed.version if parsed else None) == version


def test_sanitize_tag_keeps_case_and_collapses_runs() -> None:
    assert sanitize_tag("Feature/ä b//c") == "Feature-b-c"


def test_labels_leave_out_what_is_unknown() -> None:
    assert oci_labels(facts("detached", ""), title=None, version=None) == {
        "org.opencontainers.image.revision": SHA
    }


def test_labels_clean_a_remote_given_with_credentials() -> None:
    given = GitFacts(ref_kind="detached", ref_name="", sha=SHA, remote_url=REMOTE)
    labels = oci_labels(given, title="app", version=None)
    assert labels["org.opencontainers.image.source"] == SOURCE


def test_prefetched_queries_answer_as_asking_then_would(repo: Path) -> None:
    """`build` starts the checkout's queries before it reads its settings; the facts read from
    them are the facts, and they are used once."""
    git(repo, "tag", "v1.2.3")
    fresh = git_facts(repo, NO_CI)
    git_queries.prefetch(str(repo), NO_CI)
    assert repo.resolve() in git_queries._prefetched
    assert git_facts(repo, NO_CI) == fresh
    assert repo.resolve() not in git_queries._prefetched
    assert fresh.ref_kind == "tag"
    assert fresh.ref_name == "v1.2.3"


def test_nothing_is_prefetched_where_ci_variables_answer(repo: Path) -> None:
    git_queries.prefetch(str(repo), {"CI_COMMIT_SHA": head(repo)})
    git_queries.prefetch(str(repo), {"GITHUB_SHA": head(repo), "GITHUB_REF": "refs/heads/main"})
    assert git_queries._prefetched == {}


def test_a_prefetch_for_another_directory_is_not_taken(repo: Path, tmp_path: Path) -> None:
    other = make_repo(tmp_path / "other", branch="trunk")
    git_queries.prefetch(str(other), NO_CI)
    facts = git_facts(repo, NO_CI)
    assert (facts.ref_kind, facts.ref_name, facts.sha) == ("branch", "main", head(repo))
    assert other.resolve() in git_queries._prefetched
    git_queries.forget_prefetched()
    assert git_queries._prefetched == {}


def test_starting_the_queries_loads_no_models() -> None:
    """`build` starts git before anything heavy is imported: the module that starts it is light."""
    script = "import sys, buildxpy.ci.git_queries; print(sorted(m for m in sys.modules if m.startswith(('pydantic', 'buildxpy.ci.git_tags'))))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
