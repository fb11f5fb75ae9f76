"""Configuration: command-line flags > environment > buildxpy.toml / [tool.buildxpy] > defaults.
``Settings`` holds every value; ``load`` reads them the way the command line does."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from buildxpy.builds.secrets import parse_secret
from buildxpy.ci.git_tags import TagRules
from buildxpy.docker.references import REFERENCE, REPOSITORY, TAG
from buildxpy.errors import ConfigError
from buildxpy.pins.lockfile import NAME as LOCK_NAME
from buildxpy.platforms.names import Platform, parse, read_archs
from buildxpy.settings.builder import BuilderConfig
from buildxpy.settings.declared import DeclaredInputSettings
from buildxpy.settings.sources import (
    EnvSource,
    config_dir,
    config_file,
    file_sources,
    with_sources,
)
from buildxpy.settings.values import PlatformList, StrList, StrMap, dedupe, split_list

DEFAULT_PLATFORMS = ("linux/amd64", "linux/arm64")
ARCHS_FILE = Path("docker/archs")
FALSY = frozenset({"", "0", "false", "no"})
CACHE_MODES = ("auto", "registry", "gha", "off")


def default_platforms() -> list[Platform]:
    path = (config_dir.get() or Path.cwd()) / ARCHS_FILE
    if path.is_file():
        return read_archs(path)
    return [parse(p) for p in DEFAULT_PLATFORMS]


class Settings(DeclaredInputSettings):
    """Every value buildxpy is configured with; the build inputs buildx takes as they are
    (``--ssh``, ``--shm-size``, …) are fields of ``DeclaredInputSettings``, made from
    ``builds.buildx_inputs``."""

    model_config = SettingsConfigDict(extra="forbid", validate_default=False)
    _archs_file: bool = PrivateAttr(default=False)
    # Where the configuration was read (set by `load`): buildxpy.lock lives there.
    _config_home: Path | None = PrivateAttr(default=None)

    image: str | None = None
    tags: StrList = Field(default_factory=lambda: ["latest"])
    platforms: PlatformList = Field(default_factory=default_platforms)
    context: str = "."
    dockerfile: str | None = None
    target: str | None = None
    build_args: dict[str, str | None] = Field(default={})
    labels: StrMap = Field(default={})
    secrets: StrList = Field(default=[])
    cache_from: StrList = Field(default=[])
    cache_to: StrList = Field(default=[])
    progress: str | None = None
    push: bool = True
    # Check what was pushed (buildxpy.verify) after build, manifest create and release.
    verify: bool = True
    load: bool = False
    output_dir: Path = Path("dist")
    builder: BuilderConfig = Field(default_factory=BuilderConfig)
    # Refuse, before building, a platform the builder would build under QEMU.
    require_native: bool = False
    # The release pipeline: tags and OCI metadata from git, the default cache, CI outputs.
    tags_from: Literal["git"] | None = None
    tag_rules: TagRules = Field(default_factory=TagRules)
    oci_metadata: bool = True
    licenses: str | None = None
    cache: str = "auto"
    output_env: Path | None = None
    # Ask the registry, before building, for each base image's platforms.
    preflight: bool = True
    # Timestamps from SOURCE_DATE_EPOCH (or the commit), rewritten in the image's files.
    reproducible: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if not with_sources.get():
            return (init_settings,)
        return init_settings, EnvSource(settings_cls), *file_sources(settings_cls)

    @field_validator("image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        if value is not None and not re.match(REPOSITORY, value):
            raise ValueError(
                f"invalid image name {value!r}: expected [registry[:port]/]path in lowercase, "
                "without a tag"
            )
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        for tag in tags:
            valid = re.match(REFERENCE, tag) if ("/" in tag or ":" in tag) else re.match(TAG, tag)
            if not valid:
                raise ValueError(f"invalid tag {tag!r}")
        if not tags:
            raise ValueError("at least one tag is needed")
        return list(dict.fromkeys(tags))

    @field_validator("platforms")
    @classmethod
    def _platforms(cls, platforms: list[Platform]) -> list[Platform]:
        if not platforms:
            raise ValueError("at least one platform is needed")
        return dedupe(platforms)

    @field_validator("build_args", mode="before")
    @classmethod
    def _build_args(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().startswith("{"):
            return json.loads(value)
        if isinstance(value, str | list):
            items = split_list(value) if isinstance(value, str) else value
            out: dict[str, str | None] = {}
            for item in items:
                key, eq, val = str(item).partition("=")
                if not key.strip() or any(c.isspace() for c in key):
                    raise ValueError(f"invalid build argument {item!r}: expected KEY=VALUE")
                # A bare KEY passes through: buildx then takes its value from the environment.
                out[key] = val if eq else None
            return out
        return value

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, secrets: list[str]) -> list[str]:
        # Only the form: whether the variable is set or the file exists matters only to the
        # commands that pass secrets to docker (build_secrets.resolve_secrets).
        for spec in secrets:
            parse_secret(spec)
        return secrets

    @field_validator("cache")
    @classmethod
    def _cache(cls, value: str) -> str:
        if value in CACHE_MODES or (value.startswith("local:") and value.removeprefix("local:")):
            return value
        raise ValueError(f"invalid cache {value!r}: expected auto, registry, gha, local:DIR or off")

    @model_validator(mode="after")
    def _do_not_push(self) -> Settings:
        if with_sources.get() and os.environ.get("DO_NOT_PUSH", "").strip().lower() not in FALSY:
            self.push = False
        return self

    @classmethod
    def from_sources(
        cls,
        overrides: Mapping[str, Any] | None = None,
        *,
        config: Path | None = None,
        cwd: Path | None = None,
    ) -> Settings:
        """As the command line sees them: ``overrides`` > ``BUILDXPY_*`` and ``DO_NOT_PUSH`` >
        ``buildxpy.toml`` or ``[tool.buildxpy]`` > defaults. ``Settings(...)`` itself takes only
        the values it is given."""
        return load(overrides, config=config, cwd=cwd)

    @property
    def tags_given(self) -> bool:
        """Whether ``tags`` came from a flag, the environment or the file, not the default."""
        return "tags" in self.model_fields_set

    @property
    def refs(self) -> list[str]:
        """Every tag as a full reference: a bare tag is joined to ``image``."""
        out = []
        for tag in self.tags:
            if "/" in tag or ":" in tag:
                out.append(tag)
            else:
                out.append(f"{self.require_image()}:{tag}")
        return out

    @property
    def platforms_given(self) -> bool:
        """Whether the platforms were configured (flag, environment, config file or
        ``docker/archs``) rather than left at the built-in default."""
        return "platforms" in self.model_fields_set or self._archs_file

    @property
    def lock_file(self) -> Path | None:
        """``buildxpy.lock`` beside the configuration (None for settings made from values)."""
        return None if self._config_home is None else self._config_home / LOCK_NAME

    @property
    def builder_platforms(self) -> list[Platform]:
        if self.builder.platforms is not None:
            return self.builder.platforms
        return self.platforms

    def require_image(self) -> str:
        if not self.image:
            raise ConfigError(
                "no image configured: pass --image, set BUILDXPY_IMAGE, or set `image` in buildxpy.toml"
            )
        return self.image


def from_values(values: Mapping[str, Any]) -> Settings:
    """Settings from these values alone (None means "not given"): no environment, no file."""
    try:
        return Settings(**{key: value for key, value in values.items() if value is not None})
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None


def load(
    overrides: Mapping[str, Any] | None = None,
    *,
    config: Path | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Build the settings; ``overrides`` are the command-line flags that were given."""
    tokens = (config_file.set(config), config_dir.set(cwd), with_sources.set(True))
    try:
        settings = Settings(**dict(overrides or {}))
        settings._config_home = config.parent if config is not None else (cwd or Path.cwd())
        settings._archs_file = (
            "platforms" not in settings.model_fields_set
            and ((cwd or Path.cwd()) / ARCHS_FILE).is_file()
        )
        return settings
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None
    finally:
        config_file.reset(tokens[0])
        config_dir.reset(tokens[1])
        with_sources.reset(tokens[2])


def describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"] if not isinstance(p, int))
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting"
        problems.append(f"{where}: {message}" if where else message)
    return "invalid configuration: " + "; ".join(problems)
