"""Tags, labels and annotations a build gets: `compute` by table, and through `build_image` on
real git repositories made here (as the command line runs it, with --dry-run)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest

from buildxpy.ci.git_facts import GitFacts
from buildxpy.ci.git_tags import TagRules
from buildxpy.ci.metadata import compute, project_license
from buildxpy.cli import main as cli
from tests.fakes import FakeRunner
from tests.unit.test_git_meta import (
    COMMITTED_UTC,
    REMOTE,
    SOURCE,
    _no_git_context,  # noqa: F401 (autouse: repositories here ignore the caller's git config)
    git,
    head,
    make_repo,
)

OCI = "org.opencontainers.image"
SHA = "0123456789abcdef0123456789abcdef01234567"
RELEASE = GitFacts(
    ref_kind="tag", ref_name="v1.2.3", sha=SHA, commit_time="2024-03-04T03:06:07Z",
    remote_url="https://git.example.com/team/app", default_branch="main",
)  # fmt: skip
FULL = {
    f"{OCI}.created": "2024-03-04T03:06:07Z",
    f"{OCI}.licenses": "Apache-2.0",
    f"{OCI}.revision": SHA,
    f"{OCI}.source": "https://git.example.com/team/app",
    f"{OCI}.title": "app",
    f"{OCI}.url": "https://git.example.com/team/app",
    f"{OCI}.version": "1.2.3",
}


def meta(**kw: Any) -> Any:
    options: dict[str, Any] = {
        "image": "reg.example/team/app", "static_tags": (), "facts": RELEASE,
        "rules": TagRules(), "oci": True, "licenses": "Apache-2.0", "labels": {},
        "annotations": (), "index": True,
    }  # fmt: skip
    options.update(kw)
    return compute(**options)


def test_a_release_gets_semver_tags_and_full_metadata() -> None:
    got = meta(static_tags=("reg.example/team/app:stable",))
    assert got.tags == tuple(
        f"reg.example/team/app:{t}"
        for t in ("1.2.3", "1.2", "1", "sha-0123456", "latest", "stable")
    )
    assert got.version == "1.2.3"
    assert got.labels == FULL
    assert got.annotations == tuple(
        f"{level}:{key}={value}" for level in ("index", "manifest") for key, value in FULL.items()
    )


def test_one_platform_annotates_the_manifest_only() -> None:
    got = meta(index=False)
    assert {a.partition(":")[0] for a in got.annotations} == {"manifest"}


def test_a_user_value_replaces_the_computed_one_everywhere() -> None:
    got = meta(
        labels={f"{OCI}.title": "Custom App", "team": "core"},
        annotations=(f"manifest:{OCI}.version=9.9", "index:org.example.note=kept"),
    )
    assert got.labels[f"{OCI}.title"] == "Custom App"
    assert got.labels[f"{OCI}.version"] == "9.9"
    assert got.labels["team"] == "core"
    assert f"index:{OCI}.title=Custom App" in got.annotations
    assert f"manifest:{OCI}.title=Custom App" in got.annotations
    assert f"index:{OCI}.version=9.9" in got.annotations
    # The user's own manifest annotation stands alone, not next to a computed copy.
    assert [a for a in got.annotations if a.startswith(f"manifest:{OCI}.version")] == [
        f"manifest:{OCI}.version=9.9"
    ]
    assert got.annotations[-2:] == (f"manifest:{OCI}.version=9.9", "index:org.example.note=kept")


def test_without_oci_metadata_only_the_users_values() -> None:
    got = meta(oci=False, labels={"a": "b"}, annotations=("index:k=v",))
    assert (got.labels, got.annotations) == ({"a": "b"}, ("index:k=v",))


def test_without_git_the_project_alone() -> None:
    got = meta(facts=None, rules=None, licenses=None, static_tags=("reg.example/team/app:2.0",))
    assert got.tags == ("reg.example/team/app:2.0",)
    assert got.labels == {f"{OCI}.title": "app", f"{OCI}.version": "2.0"}


def test_a_release_tag_names_the_version_without_tags_from_git() -> None:
    got = meta(rules=None, static_tags=("reg.example/team/app:latest",))
    assert got.version == "1.2.3"
    assert got.tags == ("reg.example/team/app:latest",)


@pytest.mark.parametrize(
    ("pyproject", "license_"),
    [
        ('[project]\nlicense = "MIT OR Apache-2.0"\n', "MIT OR Apache-2.0"),
        ('[project]\nlicense = { text = "BSD-3-Clause" }\n', "BSD-3-Clause"),
        ('[project]\nlicense = { file = "LICENSE" }\n', None),
        ('[project]\nlicense = { text = """Line one\nline two""" }\n', None),
        ("[project]\nname = 'x'\n", None),
        ("not toml = [", None),
    ],
)
def test_project_license(tmp_path: Path, pyproject: str, license_: str | None) -> None:
    (tmp_path / "pyproject.toml").write_text(pyproject)
    assert project_license(tmp_path) == license_


# ------------------------------------------------------------- through build_image, --dry-run


def tags_in(argv: list[str]) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == "-t"]


def values_of(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_fake: FakeRunner) -> Path:
    # The engine the routing plan asks about, at the subprocess seam.
    monkeypatch.chdir(tmp_path)
    repo = make_repo(tmp_path / "app")
    (repo / "Dockerfile").write_text("FROM scratch\n")
    return repo


def run_dry(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = cli.main(["--dry-run", "--log-format", "json", "build", *argv])
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    return code, shlex.split(lines[0]) if lines else [], captured.err


def test_tags_from_a_tagged_checkout(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(project, "tag", "v1.2.3")
    sha = head(project)
    code, argv, _ = run_dry(
        capsys, "--image", "reg.example/team/app", "--tags-from", "git", "--no-push", str(project)
    )
    assert code == 0
    assert tags_in(argv) == [
        f"reg.example/team/app:{t}" for t in ("1.2.3", "1.2", "1", f"sha-{sha[:7]}", "latest")
    ]
    labels = dict(v.split("=", 1) for v in values_of(argv, "--label"))
    assert labels == {
        f"{OCI}.created": COMMITTED_UTC,
        f"{OCI}.revision": sha,
        f"{OCI}.source": SOURCE,
        f"{OCI}.title": "app",
        f"{OCI}.url": SOURCE,
        f"{OCI}.version": "1.2.3",
    }
    assert REMOTE.split("@")[0].split("//")[1] not in " ".join(argv)  # no credentials


def test_static_tags_are_added_and_the_default_latest_is_not(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(project, "switch", "-q", "-c", "feature/login")
    sha = head(project)
    _, argv, _ = run_dry(
        capsys, "--image", "r/app", "--tags-from", "git", "-t", "ci-123", str(project)
    )
    assert tags_in(argv) == ["r/app:feature-login", f"r/app:sha-{sha[:7]}", "r/app:ci-123"]
    _, argv, _ = run_dry(capsys, "--image", "r/app", "--tags-from", "git", str(project))
    assert tags_in(argv) == ["r/app:feature-login", f"r/app:sha-{sha[:7]}"]


def test_github_variables_name_the_ref(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_REF", "refs/tags/v2.0.0-rc.1")
    monkeypatch.setenv("GITHUB_SHA", SHA)
    monkeypatch.setenv("BUILDXPY_TAGS_FROM", "git")
    _, argv, err = run_dry(capsys, "--image", "r/app", str(project))
    assert tags_in(argv) == ["r/app:2.0.0-rc.1", "r/app:sha-0123456"]
    assert '"event": "tags from git"' in err


def test_tag_rules_from_the_config_file(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    (project / "buildxpy.toml").write_text(
        'image = "r/app"\ntags_from = "git"\n'
        '[tag_rules]\nsha = false\nedge_branch = "main"\nprefix = "v-"\n'
    )
    _, argv, _ = run_dry(capsys)
    assert tags_in(argv) == ["r/app:v-edge", "r/app:v-main"]


def test_tags_from_git_outside_git_is_one_clear_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cli_fake: FakeRunner,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, argv, err = run_dry(capsys, "--image", "r/app", "--tags-from", "git", str(tmp_path))
    assert (code, argv) == (1, [])
    [line] = err.splitlines()
    assert line == (
        f'buildxpy: error: tags_from = "git": {tmp_path} is not in a git checkout with a commit'
    )
    # Without tags_from = "git", the same directory builds; the OCI metadata is the project's.
    code, argv, _ = run_dry(capsys, "--image", "r/app", str(tmp_path))
    assert code == 0
    assert values_of(argv, "--label") == [f"{OCI}.title=app", f"{OCI}.version=latest"]


def test_no_oci_metadata(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, argv, _ = run_dry(capsys, "--image", "r/app", "--no-oci-metadata", str(project))
    assert "--label" not in argv
    assert "--annotation" not in argv


def test_pushing_several_platforms_annotates_index_and_manifests(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, argv, _ = run_dry(capsys, "--image", "r/app", "--platform", "linux/amd64,linux/arm64",
                         "--label", f"{OCI}.licenses=MIT", str(project))  # fmt: skip
    annotations = values_of(argv, "--annotation")
    assert f"index:{OCI}.revision={head(project)}" in annotations
    assert f"manifest:{OCI}.revision={head(project)}" in annotations
    assert f"index:{OCI}.licenses=MIT" in annotations
    assert f"{OCI}.licenses=MIT" in values_of(argv, "--label")


def test_the_users_other_keys_stay_where_given() -> None:
    got = meta(annotations=(f"index:{OCI}.description=Shown on the registry's page",))
    assert f"{OCI}.description" not in got.labels
    assert [a for a in got.annotations if "description" in a] == [
        f"index:{OCI}.description=Shown on the registry's page"
    ]
