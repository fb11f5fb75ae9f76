from __future__ import annotations

import os
from pathlib import Path

import pytest

from buildxpy import redact
from buildxpy.errors import ConfigError
from buildxpy.platforms.names import parse
from buildxpy.settings import model as settings


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults(project: Path) -> None:
    s = settings.load()
    assert s.image is None
    assert s.tags == ["latest"]
    assert [str(p) for p in s.platforms] == ["linux/amd64", "linux/arm64"]
    assert s.context == "."
    assert s.push is True
    assert s.output_dir == Path("dist")
    assert s.builder.name == "buildxpy"
    assert s.builder.driver == "docker-container"
    assert s.builder.nodes == []


def test_precedence_flags_over_env_over_file_over_defaults(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "buildxpy.toml").write_text(
        'image = "file/app"\ntarget = "file-target"\ncontext = "file-ctx"\n'
        'output_dir = "file-out"\n[builder]\nname = "file-builder"\ndriver = "remote"\n'
    )
    monkeypatch.setenv("BUILDXPY_IMAGE", "env/app")
    monkeypatch.setenv("BUILDXPY_TARGET", "env-target")
    monkeypatch.setenv("BUILDXPY_BUILDER", "env-builder")
    s = settings.load({"image": "flag/app"})
    assert s.image == "flag/app"  # flag beats env and file
    assert s.target == "env-target"  # env beats file
    assert s.builder.name == "env-builder"  # nested env key merges into the file's table...
    assert s.builder.driver == "remote"  # ...without dropping the file's other keys
    assert s.context == "file-ctx"  # file beats default
    assert s.output_dir == Path("file-out")


def test_pyproject_table_is_read_when_no_buildxpy_toml(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.buildxpy]\nimage = "py/app"\nplatforms = ["linux/arm64/v8"]\n'
    )
    s = settings.load()
    assert s.image == "py/app"
    assert [str(p) for p in s.platforms] == ["linux/arm64"]


def test_buildxpy_toml_wins_over_pyproject(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.buildxpy]\nimage = "py/app"\n')
    (project / "buildxpy.toml").write_text('image = "toml/app"\n')
    assert settings.load().image == "toml/app"


def test_explicit_config_file(project: Path) -> None:
    other = project / "conf" / "release.toml"
    other.parent.mkdir()
    other.write_text('image = "other/app"\n')
    (project / "buildxpy.toml").write_text('image = "toml/app"\n')
    assert settings.load(config=other).image == "other/app"


def test_missing_explicit_config_file_is_an_error(project: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file nope\.toml does not exist"):
        settings.load(config=Path("nope.toml"))


def test_unknown_key_in_file_is_refused(project: Path) -> None:
    (project / "buildxpy.toml").write_text('imagee = "typo"\n')
    with pytest.raises(ConfigError, match="imagee: unknown setting"):
        settings.load()


def test_broken_toml_names_the_file(project: Path) -> None:
    (project / "buildxpy.toml").write_text("image = \n")
    with pytest.raises(ConfigError, match=r"cannot read .*buildxpy\.toml"):
        settings.load()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("linux/amd64,linux/arm64/v8", ["linux/amd64", "linux/arm64"]),
        ('["linux/arm/v7", "linux/386"]', ["linux/arm/v7", "linux/386"]),
        (" linux/amd64 , ", ["linux/amd64"]),
    ],
)
def test_env_lists_are_comma_separated_or_json(
    project: Path, monkeypatch: pytest.MonkeyPatch, value: str, expected: list[str]
) -> None:
    monkeypatch.setenv("BUILDXPY_PLATFORMS", value)
    assert [str(p) for p in settings.load().platforms] == expected


def test_env_tags_and_build_args(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUILDXPY_TAGS", "1.0,latest")
    monkeypatch.setenv("BUILDXPY_BUILD_ARGS", "A=1,B=two")
    s = settings.load({"image": "reg.example/app"})
    assert s.refs == ["reg.example/app:1.0", "reg.example/app:latest"]
    assert s.build_args == {"A": "1", "B": "two"}


def test_build_args_json_and_bare_keys(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUILDXPY_BUILD_ARGS", '{"A": "x,y"}')
    assert settings.load().build_args == {"A": "x,y"}
    assert settings.load({"build_args": ["HTTP_PROXY", "B=1"]}).build_args == {
        "HTTP_PROXY": None,
        "B": "1",
    }


@pytest.mark.parametrize("value", ["1", "true", "yes", "anything"])
def test_do_not_push_forces_no_push(
    project: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("DO_NOT_PUSH", value)
    assert settings.load({"push": True}).push is False


@pytest.mark.parametrize("value", ["", "0", "false", "no", "FALSE"])
def test_do_not_push_falsy_values_leave_push_alone(
    project: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("DO_NOT_PUSH", value)
    assert settings.load().push is True


def test_push_from_env(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUILDXPY_PUSH", "false")
    assert settings.load().push is False


def test_docker_archs_file_gives_default_platforms(project: Path) -> None:
    (project / "docker").mkdir()
    (project / "docker" / "archs").write_text("amd64\narm32v7\n# arm64v8\n")
    assert [str(p) for p in settings.load().platforms] == ["linux/amd64", "linux/arm/v7"]


def test_configured_platforms_beat_docker_archs(project: Path) -> None:
    (project / "docker").mkdir()
    (project / "docker" / "archs").write_text("amd64\n")
    assert [str(p) for p in settings.load({"platforms": ["linux/s390x"]}).platforms] == [
        "linux/s390x"
    ]


@pytest.mark.parametrize(
    ("tag", "ref"),
    [
        ("latest", "registry.example:5000/team/app:latest"),
        ("1.2.3", "registry.example:5000/team/app:1.2.3"),
        ("other/app:2", "other/app:2"),
        ("registry.example/x/y:z", "registry.example/x/y:z"),
    ],
)
def test_tag_joining(project: Path, tag: str, ref: str) -> None:
    s = settings.load({"image": "registry.example:5000/team/app", "tags": [tag]})
    assert s.refs == [ref]


def test_refs_need_an_image(project: Path) -> None:
    with pytest.raises(ConfigError, match="no image configured"):
        _ = settings.load().refs


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"platforms": ["linux/arm65"]}, "platforms: unknown architecture 'arm65'"),
        ({"image": "Upper/Case"}, "image: invalid image name 'Upper/Case'"),
        ({"image": "app:1.0"}, "image: invalid image name 'app:1.0'"),
        ({"tags": ["bad tag"]}, "tags: invalid tag 'bad tag'"),
        ({"tags": ["-lead"]}, "tags: invalid tag '-lead'"),
        ({"tags": []}, "tags: at least one tag is needed"),
        ({"build_args": ["=x"]}, "build_args: invalid build argument '=x'"),
        ({"labels": ["nolabel"]}, "labels: expected KEY=VALUE, got 'nolabel'"),
        ({"secrets": ["id=tok"]}, "give exactly one of src= or env="),
        ({"secrets": ["tok"]}, "invalid secret 'tok'"),
        ({"builder": {"name": "a/b"}}, "builder.name: invalid builder name 'a/b'"),
        ({"builder": {"driver": "podman"}}, "builder.driver: Input should be"),
        (
            {"builder": {"nodes": [{"name": "n", "endpoint": "ftp://host"}]}},
            "unsupported endpoint 'ftp://host'",
        ),
        (
            {"builder": {"nodes": [{"name": "n", "endpoint": "ssh://"}]}},
            "invalid ssh endpoint",
        ),
        (
            {"builder": {"nodes": [{"endpoint": "unix:///x.sock"}]}},
            "builder.nodes.name: Field required",
        ),
        (
            {
                "builder": {
                    "nodes": [{"name": "a", "endpoint": "c1"}, {"name": "a", "endpoint": "c2"}]
                }
            },
            "node names must be unique; repeated: a",
        ),
    ],
)
def test_bad_input_is_one_clear_line(
    project: Path, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        settings.load(overrides)
    text = str(info.value)
    assert text.startswith("invalid configuration: ")
    assert "\n" not in text
    assert message in text


def test_nodes_from_file(project: Path) -> None:
    (project / "buildxpy.toml").write_text(
        '[builder]\nname = "multi"\n'
        '[[builder.nodes]]\nname = "amd"\nendpoint = "unix:///run/a.sock"\n'
        'platforms = ["linux/amd64"]\n'
        '[[builder.nodes]]\nname = "arm"\nendpoint = "ssh://ci@arm-box:2222"\n'
        'platforms = "linux/arm64,linux/arm/v7"\ndriver_opts = { network = "host" }\n'
    )
    s = settings.load()
    amd, arm = s.builder.nodes
    assert (amd.name, amd.endpoint, [str(p) for p in amd.platforms]) == (
        "amd", "unix:///run/a.sock", ["linux/amd64"],
    )  # fmt: skip
    assert [str(p) for p in arm.platforms] == ["linux/arm64", "linux/arm/v7"]
    assert arm.driver_opts == {"network": "host"}
    assert not arm.is_context
    assert s.builder_platforms == s.platforms


def test_builder_platforms_default_to_top_level(project: Path) -> None:
    s = settings.load({"platforms": ["linux/arm64"], "builder": {"platforms": ["linux/amd64"]}})
    assert s.builder_platforms == [parse("linux/amd64")]


def test_loading_secrets_checks_their_form_only(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether the variable is set or the file exists is the business of build and export."""
    monkeypatch.setenv("NPM_TOKEN_FOR_TEST", "s3cr3t-value-123")
    loaded = settings.load(
        {"secrets": ["id=npm,env=NPM_TOKEN_FOR_TEST", "id=a,env=UNSET_X", "id=f,src=/nope"]}
    )
    assert len(loaded.secrets) == 3
    assert redact.text("token is s3cr3t-value-123") == "token is s3cr3t-value-123"


def test_process_environment_is_not_changed(project: Path) -> None:
    before = dict(os.environ)
    settings.load({"image": "app"})
    assert dict(os.environ) == before
