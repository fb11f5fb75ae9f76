from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from buildxpy import redact
from buildxpy.builds.cache import (
    DefaultCache,
    can_export_cache,
    choose,
    github_cache_available,
    is_docker_context,
    names_registry,
)
from tests.fakes import FakeRunner

DATA = Path(__file__).parent.parent / "data"
GHA = {"ACTIONS_RUNTIME_TOKEN": "rt-token-value", "ACTIONS_CACHE_URL": "https://cache.example/"}
GHA_V2 = {"ACTIONS_RUNTIME_TOKEN": "rt-token-value", "ACTIONS_RESULTS_URL": "https://results/"}


@pytest.mark.parametrize(
    ("mode", "push", "environ", "exporting", "expected"),
    [
        pytest.param("auto", True, {}, False, DefaultCache("registry", "reg.example/app"),
                     id="auto, pushing: registry cache next to the image"),
        pytest.param("auto", False, {}, False, None, id="auto, not pushing: none"),
        pytest.param("auto", True, GHA, False, DefaultCache("gha", "reg.example-app"),
                     id="auto under GitHub Actions' cache service: gha"),
        pytest.param("auto", False, GHA_V2, False, DefaultCache("gha", "reg.example-app"),
                     id="gha with the v2 service, also when not pushing"),
        pytest.param("auto", True, {"ACTIONS_RUNTIME_TOKEN": "x"}, False,
                     DefaultCache("registry", "reg.example/app"),
                     id="a token without a service URL is no cache service"),
        pytest.param("registry", False, {}, False,
                     DefaultCache("registry", "reg.example/app", write=False),
                     id="registry, not pushing: read only"),
        pytest.param("registry", True, GHA, False, DefaultCache("registry", "reg.example/app"),
                     id="registry asked for wins over the service"),
        pytest.param("gha", True, {}, False, None, id="gha without the service: none"),
        pytest.param("off", True, GHA, False, None, id="off"),
        pytest.param("auto", True, {}, True, DefaultCache("registry", "reg.example/app"),
                     id="export to a named registry"),
    ],
)  # fmt: skip
def test_choose(
    mode: str,
    push: bool,
    environ: dict[str, str],
    exporting: bool,
    expected: DefaultCache | None,
) -> None:
    got = choose(mode, image="reg.example/app", push=push, environ=environ, exporting=exporting)
    assert got == expected


def test_export_never_writes_a_docker_hub_short_name_by_itself() -> None:
    assert choose("auto", image="app", push=True, environ={}, exporting=True) is None
    assert choose("auto", image="team/app", push=True, environ={}, exporting=True) is None
    assert choose("auto", image="team/app", push=True, environ={}) == DefaultCache(
        "registry", "team/app"
    )


def test_local_cache_is_an_absolute_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    got = choose("local:.cache/buildx", image=None, push=False, environ={})
    assert got == DefaultCache("local", str(tmp_path / ".cache" / "buildx"))


def test_the_runtime_token_is_masked_once_used() -> None:
    choose("auto", image="reg.example/app", push=True, environ=GHA)
    assert redact.text("token=rt-token-value") == "token=***"


def test_missing_service_is_one_warning() -> None:
    with capture_logs() as logs:
        assert choose("gha", image="r/app", push=True, environ={}) is None
    [entry] = logs
    assert entry["log_level"] == "warning"
    assert "ghaction-github-runtime" in entry["event"]


@pytest.mark.parametrize(
    ("image", "named"),
    [("reg.example/app", True), ("127.0.0.1:5000/app", True), ("localhost/app", True),
     ("app", False), ("team/app", False), ("team/sub/app", False)],
)  # fmt: skip
def test_names_registry(image: str, named: bool) -> None:
    assert names_registry(image) is named


def test_github_cache_available() -> None:
    assert github_cache_available(GHA)
    assert github_cache_available(GHA_V2)
    assert not github_cache_available({"ACTIONS_CACHE_URL": "https://x/"})


# ------------------------------------------------------------- can this builder export cache?


def instance(config_dir: Path, name: str, driver: str) -> None:
    path = config_dir / "buildx" / "instances" / name
    path.parent.mkdir(parents=True)
    path.write_text(f'{{"Name": "{name}", "Driver": "{driver}", "Nodes": []}}')


@pytest.mark.parametrize(
    ("driver", "able"),
    [("docker-container", True), ("kubernetes", True), ("remote", True), ("docker", False)],
)
def test_builders_buildx_created_are_known_without_a_process(
    tmp_path: Path, fake: FakeRunner, driver: str, able: bool
) -> None:
    instance(tmp_path, "ci", driver)
    assert can_export_cache(fake, "ci", tmp_path) is able
    assert fake.calls == []


@pytest.mark.parametrize(
    ("sample", "able"),
    [("docker-info-containerd-store.json", True), ("docker-info-arm64.json", False)],
    ids=["containerd image store", "graph driver overlay2"],
)
def test_docker_driver_asks_docker_info(
    tmp_path: Path, fake: FakeRunner, sample: str, able: bool
) -> None:
    fake.on("--context", "default", "info", stdout=(DATA / sample).read_text())
    assert can_export_cache(fake, "default", tmp_path) is able
    assert fake.args_list() == [["--context", "default", "info", "--format", "{{json .}}"]]


def test_a_context_named_builder_is_probed_on_its_context(tmp_path: Path, fake: FakeRunner) -> None:
    meta = tmp_path / "contexts" / "meta" / hashlib.sha256(b"arm-box").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text('{"Name": "arm-box"}')
    shutil.copy(DATA / "docker-info-containerd-store.json", tmp_path / "info.json")
    fake.on("--context", "arm-box", "info", stdout=(tmp_path / "info.json").read_text())
    assert is_docker_context("arm-box", tmp_path)
    assert can_export_cache(fake, "arm-box", tmp_path) is True


def test_unknown_builder_is_left_to_the_build(tmp_path: Path, fake: FakeRunner) -> None:
    assert can_export_cache(fake, "nosuch", tmp_path) is None
    assert fake.calls == []
    fake.on("--context", "default", "info", exit_code=1, stderr="Cannot connect")
    assert can_export_cache(fake, "default", tmp_path) is None
