"""Where the configuration comes from besides the flags: the ``BUILDXPY_*`` variables SPEC names and
the config file (``buildxpy.toml`` or ``[tool.buildxpy]``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    TomlConfigSettingsSource,
)

from buildxpy.builds.buildx_inputs import DECLARED
from buildxpy.docker.input_text import check_environ, utf8_error
from buildxpy.errors import ConfigError

# Which environment variable sets which (possibly nested) key: these, and each declared build
# input's (builds.buildx_inputs).
_OWN_ENV_KEYS: Mapping[str, tuple[str, ...]] = {
    "BUILDXPY_IMAGE": ("image",),
    "BUILDXPY_TAGS": ("tags",),
    "BUILDXPY_PLATFORMS": ("platforms",),
    "BUILDXPY_CONTEXT": ("context",),
    "BUILDXPY_DOCKERFILE": ("dockerfile",),
    "BUILDXPY_TARGET": ("target",),
    "BUILDXPY_BUILD_ARGS": ("build_args",),
    "BUILDXPY_PUSH": ("push",),
    "BUILDXPY_VERIFY": ("verify",),
    "BUILDXPY_OUTPUT_DIR": ("output_dir",),
    "BUILDXPY_BUILDER": ("builder", "name"),
    "BUILDXPY_BUILDER_DRIVER": ("builder", "driver"),
    "BUILDXPY_REQUIRE_NATIVE": ("require_native",),
    "BUILDXPY_TAGS_FROM": ("tags_from",),
    "BUILDXPY_OCI_METADATA": ("oci_metadata",),
    "BUILDXPY_LICENSES": ("licenses",),
    "BUILDXPY_CACHE": ("cache",),
    "BUILDXPY_OUTPUT_ENV": ("output_env",),
    "BUILDXPY_PREFLIGHT": ("preflight",),
    "BUILDXPY_REPRODUCIBLE": ("reproducible",),
    "BUILDXPY_BUILDKITD_CONFIG": ("builder", "buildkitd_config"),
}
ENV_KEYS: Mapping[str, tuple[str, ...]] = {
    **_OWN_ENV_KEYS,
    **{item.env: (item.name,) for item in DECLARED if item.env is not None},
}

config_file: ContextVar[Path | None] = ContextVar("buildxpyconfig_file", default=None)
config_dir: ContextVar[Path | None] = ContextVar("buildxpyconfig_dir", default=None)
# Set by `load`: only then do the environment and the config file count.
with_sources: ContextVar[bool] = ContextVar("buildxpywith_sources", default=False)


class EnvSource(PydanticBaseSettingsSource):
    """Reads exactly the variables SPEC names. pydantic-settings' own env source maps
    ``BUILDXPY_BUILDER`` onto the whole nested ``builder`` table (it expects JSON there), so it
    cannot read ``BUILDXPY_BUILDER`` as ``builder.name`` next to ``BUILDXPY_BUILDER_DRIVER`` as
    ``builder.driver``; comma lists are split by the fields' own validators."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for var, path in ENV_KEYS.items():
            value = os.environ.get(var)
            if value is None or (value == "" and path not in (("push",), ("verify",))):
                continue
            check_environ(var, value)
            target = out
            for key in path[:-1]:
                target = target.setdefault(key, {})
            target[path[-1]] = value
        return out


def file_sources(settings_cls: type[BaseSettings]) -> tuple[PydanticBaseSettingsSource, ...]:
    """The config file, read by pydantic-settings' own TOML source; every way the file can be
    unreadable becomes one line that names it. ``[tool.buildxpy]`` is picked out here rather than
    by ``PyprojectTomlConfigSettingsSource``, which takes the table name from ``model_config`` (and
    then warns on every run that reads no pyproject.toml) and fails on ``tool = 3``."""
    path, in_pyproject = findconfig_file(config_file.get(), config_dir.get() or Path.cwd())
    if path is None:
        return ()
    try:
        data: Any = TomlConfigSettingsSource(settings_cls, path).toml_data
    except UnicodeDecodeError as exc:
        raise utf8_error(path, exc) from None
    except (OSError, ValueError) as exc:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        raise ConfigError(f"cannot read {path}: {exc}") from None
    for table in ("tool", "buildxpy") if in_pyproject else ():
        data = data.get(table, {})
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: `{table}` is not a table")
    return (InitSettingsSource(settings_cls, data),)


def findconfig_file(explicit: Path | None, cwd: Path) -> tuple[Path | None, bool]:
    """The file to read, and whether it is a ``pyproject.toml`` (read from ``[tool.buildxpy]``)."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return explicit, explicit.name == "pyproject.toml"
    if (cwd / "buildxpy.toml").is_file():
        return cwd / "buildxpy.toml", False
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        return pyproject, True
    return None, False
