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
