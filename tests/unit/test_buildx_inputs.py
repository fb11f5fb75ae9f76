"""Each declared build input (``builds/buildx_inputs.py``) reaches buildx from every place a user
can give it: a flag, a ``BUILDXPY_*`` variable, the config file and the Python keyword."""

from __future__ import annotations

import json
import shlex
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

import buildxpy
from buildxpy.api import BuildInputs
from buildxpy.builds.argv import build_argv
from buildxpy.builds.buildx_inputs import DECLARED, BuildxInputs, declared
from buildxpy.builds.input_declaration import Declared, Input, read_declaration
from buildxpy.builds.one_build import build_image
from buildxpy.builds.spec import BuildSpec
from buildxpy.cli.commands._common import flag_overrides
from buildxpy.cli.main import build_parser
from buildxpy.docker.runner import Completed
from buildxpy.errors import CommandFailed, ConfigError
from buildxpy.settings import model as settings
from buildxpy.settings.handoff import spec_from_settings
from buildxpy.settings.sources import ENV_KEYS
from tests.fakes import FakeRunner

# A value each declared input takes, and the words buildx gets for it: a new input needs one.
SAMPLES: dict[str, tuple[Any, list[str]]] = {
    "no_cache": (True, ["--no-cache"]),
    "pull": (True, ["--pull"]),
    "provenance": ("mode=max", ["--provenance=mode=max"]),
    "sbom": ("false", ["--sbom=false"]),
    "network": ("host", ["--network", "host"]),
    "annotations": (["index:org.example.a=b, c"], ["--annotation", "index:org.example.a=b, c"]),
    "ssh": (["default", "deploy=keys/a,keys/b"],
            ["--ssh", "default", "--ssh", "deploy=keys/a,keys/b"]),
    "attests": (["type=sbom,generator=x"], ["--attest", "type=sbom,generator=x"]),
    "no_cache_filters": (["deps", "test"], ["--no-cache-filter", "deps", "--no-cache-filter", "test"]),
    "add_hosts": (["db:10.0.0.5"], ["--add-host", "db:10.0.0.5"]),
    "allow": (["network.host"], ["--allow", "network.host"]),
    "ulimits": (["nofile=1024:2048", "nproc=512"],
                ["--ulimit", "nofile=1024:2048", "--ulimit", "nproc=512"]),
    "build_contexts": ({"base": "docker-image://alpine:3.20"},
                       ["--build-context", "base=docker-image://alpine:3.20"]),
    "shm_size": ("2g", ["--shm-size", "2g"]),
    "cgroup_parent": ("buildxpy.slice", ["--cgroup-parent", "buildxpy.slice"]),
    "secret_envs": ({"npm": "NPM_TOKEN", "gh": "GH_TOKEN"},
                    ["--secret", "id=npm,env=NPM_TOKEN", "--secret", "id=gh,env=GH_TOKEN"]),
    "call": ("outline", ["--call=outline"]),
}  # fmt: skip
NAMES = [item.name for item in DECLARED]


@pytest.fixture(autouse=True)
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for variable in ENV_KEYS:
        monkeypatch.delenv(variable, raising=False)
    # What the samples point at, checked just before a build.
    monkeypatch.setenv("SSH_AUTH_SOCK", str(tmp_path / "agent.sock"))
    monkeypatch.setenv("NPM_TOKEN", "npm-token")
    monkeypatch.setenv("GH_TOKEN", "gh-token")
    (tmp_path / "keys").mkdir()
    for key in ("a", "b"):
        (tmp_path / "keys" / key).write_text("key\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    return tmp_path


def has_words(argv: list[str], words: list[str]) -> bool:
    return any(argv[i : i + len(words)] == words for i in range(len(argv)))


def argv_from(overrides: dict[str, Any]) -> list[str]:
    spec = spec_from_settings(settings.load({"image": "reg.example/app", **overrides}))
    return build_argv(spec, metadata_file=None)


def flag_words(item: Declared, value: Any) -> list[str]:
    if item.kind == "switch":
        return [item.input.flag]
    if item.kind == "value":
        return [item.input.flag, value]
    items = [f"{k}={v}" for k, v in value.items()] if item.kind == "map" else value
    return [word for one in items for word in (item.input.flag, one)]


def env_text(item: Declared, value: Any) -> str:
    if item.kind == "value":
        return str(value)
    if item.kind == "map":
        return ",".join(f"{k}={v}" for k, v in value.items())
    return ("\n" if item.input.lines else ",").join(value)


def test_every_declared_input_has_a_sample() -> None:
    assert sorted(SAMPLES) == sorted(NAMES)


class Bare(TypedDict):
    shm_size: str | None


class Odd(TypedDict):
    shm_size: Annotated[int, Input("--shm-size")]


def test_an_entry_is_one_of_four_kinds_with_one_input() -> None:
    for wrong in (Bare, Odd):
        with pytest.raises(TypeError):
            read_declaration(wrong)


@pytest.mark.parametrize("name", NAMES)
def test_each_input_is_a_setting_a_flag_a_variable_and_a_keyword(name: str) -> None:
    item = declared(name)
    assert name in settings.Settings.model_fields
    assert name in BuildxInputs.__annotations__
    assert name in BuildInputs.__annotations__
    for command in ("build", "export"):
        namespace = build_parser([command]).parse_args([command])
        assert hasattr(namespace, name), (command, name)
    if item.env is None:
        assert f"BUILDXPY_{name.upper()}" not in ENV_KEYS
    else:
        assert ENV_KEYS[item.env] == (name,)
    own_fields = {f.name for f in fields(BuildSpec)}
    assert (name in own_fields) == item.input.own_field


@pytest.mark.parametrize("name", NAMES)
def test_a_flag_reaches_the_argv(name: str) -> None:
    item = declared(name)
    value, expected = SAMPLES[name]
    words = ["build", *flag_words(item, value)]
    overrides = flag_overrides(build_parser(words).parse_args(words))
    assert has_words(argv_from(overrides), expected)
    assert not has_words(argv_from({}), expected[:1])


@pytest.mark.parametrize("name", [item.name for item in DECLARED if item.env])
def test_a_variable_reaches_the_argv(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    item = declared(name)
    value, expected = SAMPLES[name]
    assert item.env is not None
    monkeypatch.setenv(item.env, env_text(item, value))
    assert has_words(argv_from({}), expected)


@pytest.mark.parametrize("name", NAMES)
def test_the_config_file_reaches_the_argv(name: str, project: Path) -> None:
    value, expected = SAMPLES[name]
    if isinstance(value, dict):
        text = f"[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in value.items())
    else:
        text = f"{name} = {json.dumps(value)}\n"
    (project / "buildxpy.toml").write_text('image = "reg.example/app"\n' + text)
    assert has_words(argv_from({}), expected)


@pytest.mark.parametrize("name", NAMES)
def test_a_python_keyword_reaches_the_argv(
    name: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    value, expected = SAMPLES[name]
    options: dict[str, Any] = {name: value}
    buildxpy.build(
        project, image="reg.example/app", platforms=["linux/amd64"], output_dir=project / "dist",
        runner=FakeRunner(dry_run=True), preflight=False, cache="off", oci_metadata=False,
        **options,
    )  # fmt: skip
    commands = [shlex.split(line) for line in capsys.readouterr().out.splitlines()]
    [argv] = [words for words in commands if words[1:3] == ["buildx", "build"]]
    assert has_words(argv, expected)


@pytest.mark.parametrize("name", [item.name for item in DECLARED if item.input.check])
def test_a_value_of_the_wrong_form_is_refused_before_docker(name: str) -> None:
    item = declared(name)
    wrong = "=not valid=" if item.kind == "value" else ["=not valid="]
    with pytest.raises(ConfigError, match=f"invalid configuration: {name}: invalid"):
        settings.load({name: wrong})


def test_a_buildx_older_than_an_input_names_the_buildx_that_has_it() -> None:
    item = declared("shm_size")
    fake = FakeRunner()
    fake.on("buildx", "version", stdout="github.com/docker/buildx v0.6.3 266c0eac\n")
    fake.on("buildx", "build", exit_code=1, stderr="unknown flag: --shm-size\n")
    spec = spec_from_settings(settings.load({"image": "reg.example/app", "shm_size": "2g",
                                             "builder": {"name": "default"}}))  # fmt: skip
    with pytest.raises(ConfigError) as info:
        build_image(spec, fake)
    assert str(info.value) == (
        f"--shm-size needs buildx {item.input.since} or later; this buildx is 0.6.3"
    )


def test_a_failure_without_an_unknown_flag_stays_buildxs_own() -> None:
    fake = FakeRunner()
    fake.on("buildx", "build", answer=lambda call: Completed(1, stderr="ERROR: boom\n"))
    spec = spec_from_settings(settings.load({"image": "reg.example/app", "shm_size": "2g",
                                             "builder": {"name": "default"}}))  # fmt: skip
    with pytest.raises(CommandFailed):
        build_image(spec, fake)
    assert [c for c in fake.calls if c.args[:2] == ["buildx", "version"]] == []


def test_cgroup_parent_from_each_place_it_is_given(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    words = ["build", "--cgroup-parent", "from-flag.slice"]
    overrides = flag_overrides(build_parser(words).parse_args(words))
    assert has_words(argv_from(overrides), ["--cgroup-parent", "from-flag.slice"])
    (project / "buildxpy.toml").write_text('cgroup_parent = "from-file.slice"\n')
    assert has_words(argv_from({}), ["--cgroup-parent", "from-file.slice"])
    monkeypatch.setenv("BUILDXPY_CGROUP_PARENT", "from-env.slice")
    assert has_words(argv_from({}), ["--cgroup-parent", "from-env.slice"])
    assert has_words(argv_from(overrides), ["--cgroup-parent", "from-flag.slice"])
    buildxpy.build(
        project, image="reg.example/app", platforms=["linux/amd64"], runner=FakeRunner(dry_run=True),
        preflight=False, cache="off", oci_metadata=False, cgroup_parent="from-python.slice",
    )  # fmt: skip
    assert "--cgroup-parent from-python.slice" in capsys.readouterr().out


def test_a_buildx_without_cgroup_parent_says_which_buildx_has_it() -> None:
    fake = FakeRunner()
    fake.on("buildx", "version", stdout="github.com/docker/buildx v0.6.3 266c0eac\n")
    fake.on("buildx", "build", exit_code=1, stderr="unknown flag: --cgroup-parent\n")
    spec = spec_from_settings(settings.load({"image": "reg.example/app", "builder": {"name": "default"},
                                             "cgroup_parent": "ci.slice"}))  # fmt: skip
    with pytest.raises(ConfigError) as info:
        build_image(spec, fake)
    assert str(info.value) == "--cgroup-parent needs buildx 0.7 or later; this buildx is 0.6.3"


def test_settings_give_every_declared_input_typed_by_its_declaration(tmp_path: Path) -> None:
    from buildxpy.settings.model import load

    values = load({"shm_size": "1g", "ulimits": ["nofile=1:2"]}, cwd=tmp_path).declared()
    assert set(values) == {item.name for item in DECLARED}
    assert values["shm_size"] == "1g"
    assert values["ulimits"] == ["nofile=1:2"]
    assert values["call"] is None
