from __future__ import annotations

import subprocess
import sys

import pytest

import buildxpy


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
        "from buildxpy.cli import main\n"
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
