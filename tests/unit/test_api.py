from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import buildxpy
from tests.fakes import FakeRunner


@pytest.mark.parametrize("name", sorted(set(buildxpy.__all__) - {"__version__"}))
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(buildxpy, name) is not None


def test_errors_share_one_base() -> None:
    for name in (
        "ConfigError",
        "DockerNotFound",
        "BuilderNotFound",
        "CommandFailed",
        "ImageNotFound",
    ):
        assert issubclass(getattr(buildxpy, name), buildxpy.BuildxpyError)


def test_unknown_name() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = buildxpy.nope


def test_version_imports_neither_sh_nor_pydantic() -> None:
    code = (
        "import sys\n"
        "from buildxpy.cli.main import main\n"
        "try:\n"
        "    main(['--version'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('sh', 'pydantic', 'pydantic_settings', 'structlog') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_py_typed_is_shipped() -> None:
    from importlib.resources import files

    assert files("buildxpy").joinpath("py.typed").is_file()


def test_dir_lists_the_public_api() -> None:
    names = dir(buildxpy)
    for name in ("build", "export", "setup_builder", "doctor", "manifest_create", "release"):
        assert name in names


def test_public_functions_survive_importing_every_module() -> None:
    """A submodule named like a public function would replace it on the package when imported."""
    import pkgutil

    for module in pkgutil.walk_packages(buildxpy.__path__, "buildxpy."):
        if not module.name.endswith("__main__"):
            __import__(module.name)
    for name in buildxpy.__all__:
        value = getattr(buildxpy, name)
        assert not isinstance(value, type(buildxpy)), f"buildxpy.{name} is a module"


def test_all_matches_the_lazy_exports() -> None:
    assert sorted(buildxpy.__all__) == sorted([*buildxpy._EXPORTS, "__version__"])


def test_build_takes_the_pipeline_keywords(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fakes import FakeRunner
    from tests.unit.test_git_meta import git, make_repo

    repo = make_repo(tmp_path / "app", remote=None)
    git(repo, "tag", "v3.1.0")
    runner = FakeRunner(dry_run=True)
    result = buildxpy.build(
        repo, image="reg.example/app", tags_from="git", tag_rules={"sha": False},
        annotations=["index:org.example.note=x"], add_hosts=["db:10.0.0.1"], cache="off",
        platforms=["linux/amd64", "linux/arm64"], output_dir=tmp_path / "dist",
        push=True, runner=runner,
    )  # fmt: skip
    assert result.tags == [f"reg.example/app:{t}" for t in ("3.1.0", "3.1", "3", "latest")]
    printed = capsys.readouterr().out
    assert "--annotation index:org.opencontainers.image.version=3.1.0" in printed
    assert "--annotation index:org.example.note=x" in printed
    assert "--add-host db:10.0.0.1" in printed
    assert "--cache-from" not in printed


def test_build_and_export_take_the_bases_a_lock_pins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from buildxpy.pins.lockfile import Pin, write_lock
    from tests.fakes import FakeRunner

    digest = "sha256:" + "a" * 64
    (tmp_path / "Dockerfile").write_text("FROM reg.example/base:1\n")
    lock = tmp_path / "pins.lock"
    write_lock(lock, {"reg.example/base:1": Pin(digest, {"linux/amd64": digest})})
    pinned = f"--build-context reg.example/base:1=docker-image://reg.example/base@{digest}"
    buildxpy.build(tmp_path, image="reg.example/app", platforms=["linux/amd64"], lock=lock,
                   output_dir=tmp_path / "dist", runner=FakeRunner(dry_run=True))  # fmt: skip
    assert pinned in capsys.readouterr().out
    buildxpy.export(tmp_path, image="reg.example/app", platforms=["linux/amd64"], lock=lock,
                    output_dir=tmp_path / "dist", runner=FakeRunner(dry_run=True))  # fmt: skip
    assert pinned in capsys.readouterr().out
    # Without it, the Python API floats, as it reads no configuration.
    buildxpy.build(tmp_path, image="reg.example/app", platforms=["linux/amd64"],
                   output_dir=tmp_path / "dist", runner=FakeRunner(dry_run=True))  # fmt: skip
    assert "--build-context" not in capsys.readouterr().out


def test_rebuild_check_refuses_a_bad_builder_before_docker() -> None:
    from tests.fakes import FakeRunner

    runner = FakeRunner()
    with pytest.raises(buildxpy.ConfigError, match=r"builder\.driver"):
        buildxpy.rebuild_check("reg.example/app:1", builder={"driver": "podman"}, runner=runner)
    assert runner.calls == []


def test_setup_builder_takes_a_buildkitd_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fakes import FakeRunner

    config_dir = tmp_path / "docker-config"
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    runner = FakeRunner(dry_run=True)
    builder = buildxpy.setup_builder(
        "ci", platforms=["linux/amd64"], runner=runner, bootstrap=False,
        buildkitd={"registry": {"registry.ci.internal:5000": {"http": True}}},
    )  # fmt: skip
    written = config_dir / "buildxpy" / "buildkitd" / "ci.toml"
    assert builder.commands == [
        (
            f"docker buildx create --name ci --driver docker-container --buildkitd-config {written} "
            "--platform linux/amd64 --node ci0"
        )
    ]
    assert "http = true" in written.read_text()


@pytest.mark.parametrize("call", ["build", "export"])
@pytest.mark.parametrize("image", [None, ""])
def test_api_without_an_image_names_the_keyword_not_the_flag(
    fake: FakeRunner, call: str, image: str | None
) -> None:
    function = getattr(buildxpy, call)
    extra = {"platforms": ["linux/arm64"]} if call == "export" else {}
    with pytest.raises(buildxpy.ConfigError) as info:
        function(".", image=image, runner=fake, **extra)
    assert "image=" in str(info.value)
    assert "--image" not in str(info.value)
    assert fake.calls == []
