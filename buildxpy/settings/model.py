"""Configuration: command-line flags > environment > buildxpy.toml / [tool.buildxpy] > defaults."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from buildxpy.builders.buildkitd_config import BuildkitdTable
from buildxpy.builds import inputs as build_inputs
from buildxpy.builds.secrets import parse_secret
from buildxpy.ci.git_tags import TagRules
from buildxpy.docker.input_text import check_environ, utf8_error
from buildxpy.errors import ConfigError
from buildxpy.platforms.names import Platform, parse, read_archs

DEFAULT_PLATFORMS = ("linux/amd64", "linux/arm64")
ARCHS_FILE = Path("docker/archs")
FALSY = frozenset({"", "0", "false", "no"})

# Patterns are strings: `re` compiles each on first use and keeps it, so an import compiles none.
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
MAX_NAME = 100
TAG = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
REPOSITORY = rf"^(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$"
REFERENCE = (
    rf"^(?P<repo>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
_ENDPOINT_SCHEMES = ("unix://", "tcp://", "ssh://", "npipe://")
_SSH = r"^ssh://(?:[A-Za-z0-9_.-]+@)?[A-Za-z0-9_.-]+(?::[0-9]+)?$"

# Which environment variable sets which (possibly nested) key.
ENV_KEYS: Mapping[str, tuple[str, ...]] = {
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
    "BUILDXPY_NETWORK": ("network",),
    "BUILDXPY_ANNOTATIONS": ("annotations",),
    "BUILDXPY_SSH": ("ssh",),
    "BUILDXPY_BUILD_CONTEXTS": ("build_contexts",),
    "BUILDXPY_ATTESTS": ("attests",),
    "BUILDXPY_CALL": ("call",),
    "BUILDXPY_NO_CACHE_FILTERS": ("no_cache_filters",),
    "BUILDXPY_ADD_HOSTS": ("add_hosts",),
    "BUILDXPY_ALLOW": ("allow",),
    "BUILDXPY_SHM_SIZE": ("shm_size",),
    "BUILDXPY_ULIMITS": ("ulimits",),
    "BUILDXPY_SECRET_ENVS": ("secret_envs",),
    "BUILDXPY_BUILDKITD_CONFIG": ("builder", "buildkitd_config"),
}

_config_file: ContextVar[Path | None] = ContextVar("buildxpy_config_file", default=None)
_config_dir: ContextVar[Path | None] = ContextVar("buildxpy_config_dir", default=None)
# Set by `load`: only then do the environment and the config file count.
_with_sources: ContextVar[bool] = ContextVar("buildxpy_with_sources", default=False)


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


def _split_lines(value: Any) -> Any:
    """A JSON list, else one item a line: for values that hold commas themselves
    (``type=sbom,generator=…``, ``index:description=a, b``, ``id=key1,key2``)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [line.strip() for line in text.splitlines() if line.strip()]
    return value


def _split_map(value: Any) -> Any:
    """``K=V,K2=V2`` or a JSON object; a list of ``K=V`` strings (repeated flags) too."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            return json.loads(text)
        value = [item for item in text.split(",") if item.strip()]
    if isinstance(value, list):
        return dict(parse_pair(item) for item in value)
    return value


def parse_pair(item: str) -> tuple[str, str]:
    key, eq, val = item.partition("=")
    if not eq or not key.strip():
        raise ValueError(f"expected KEY=VALUE, got {item!r}")
    return key.strip(), val


def _to_platform(value: Any) -> Platform:
    if isinstance(value, Platform):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a platform such as linux/arm64, got {type(value).__name__}")
    try:
        return parse(value)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


PlatformField = Annotated[Platform, PlainValidator(_to_platform), PlainSerializer(str)]
PlatformList = Annotated[list[PlatformField], BeforeValidator(_split_list)]
StrList = Annotated[list[str], BeforeValidator(_split_list)]
StrMap = Annotated[dict[str, str], BeforeValidator(_split_map)]
LineList = Annotated[list[str], BeforeValidator(_split_lines)]
CACHE_MODES = ("auto", "registry", "gha", "off")


def _check_name(value: str, what: str) -> str:
    if len(value) > MAX_NAME:
        # buildx names files, containers and volumes after builders and nodes.
        raise ValueError(
            f"{what} name {value[:20]}… is {len(value)} characters long; use at most {MAX_NAME}"
        )
    if not re.match(_NAME, value):
        raise ValueError(
            f"invalid {what} name {value!r}: use letters, digits, '.', '_' and '-' "
            "(starting with a letter or digit)"
        )
    return value


def _dedupe(platforms: list[Platform]) -> list[Platform]:
    return list(dict.fromkeys(platforms))


class NodeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    name: str
    endpoint: str
    platforms: PlatformList = Field(default=[])
    driver_opts: StrMap = Field(default={})
    buildkitd_flags: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value, "node")

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        value = value.strip()
        if "://" in value:
            if not value.startswith(_ENDPOINT_SCHEMES):
                raise ValueError(
                    f"unsupported endpoint {value!r}: use a docker context name, "
                    "unix://, tcp:// or ssh://user@host[:port]"
                )
            if value.startswith("ssh://") and not re.match(_SSH, value):
                raise ValueError(f"invalid ssh endpoint {value!r}: use ssh://user@host[:port]")
            return value
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$", value):
            raise ValueError(f"invalid endpoint {value!r}: not a docker context name or URL")
        return value

    _platforms = field_validator("platforms")(classmethod(lambda cls, v: _dedupe(v)))

    @property
    def is_context(self) -> bool:
        return "://" not in self.endpoint


class BuilderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = "buildxpy"
    driver: Literal["docker-container", "docker", "remote", "kubernetes"] = "docker-container"
    driver_opts: StrMap = Field(default={})
    buildkitd_flags: str | None = None
    platforms: PlatformList | None = None
    nodes: list[NodeConfig] = Field(default=[])
    buildkitd_config: Path | None = None
    buildkitd: BuildkitdTable | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value, "builder")

    @field_validator("nodes")
    @classmethod
    def _unique_nodes(cls, nodes: list[NodeConfig]) -> list[NodeConfig]:
        names = [n.name for n in nodes]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"node names must be unique; repeated: {', '.join(duplicates)}")
        return nodes


def default_platforms() -> list[Platform]:
    path = (_config_dir.get() or Path.cwd()) / ARCHS_FILE
    if path.is_file():
        return read_archs(path)
    return [parse(p) for p in DEFAULT_PLATFORMS]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="forbid", validate_default=False)
    _archs_file: bool = PrivateAttr(default=False)

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
    no_cache: bool = False
    pull: bool = False
    provenance: str | None = None
    sbom: str | None = None
    progress: str | None = None
    network: str | None = None
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
    # Passed through to `docker buildx build`, checked for form first.
    annotations: LineList = Field(default=[])
    ssh: LineList = Field(default=[])
    build_contexts: StrMap = Field(default={})
    attests: LineList = Field(default=[])
    call: str | None = None
    no_cache_filters: StrList = Field(default=[])
    add_hosts: StrList = Field(default=[])
    allow: StrList = Field(default=[])
    shm_size: str | None = None
    ulimits: StrList = Field(default=[])
    secret_envs: StrMap = Field(default={})

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if not _with_sources.get():
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
        return _dedupe(platforms)

    @field_validator("build_args", mode="before")
    @classmethod
    def _build_args(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().startswith("{"):
            return json.loads(value)
        if isinstance(value, str | list):
            items = _split_list(value) if isinstance(value, str) else value
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

    @field_validator("annotations", "ssh", "attests", "no_cache_filters", "add_hosts", "allow",
                     "ulimits")  # fmt: skip
    @classmethod
    def _passthrough(cls, values: list[str], info: ValidationInfo) -> list[str]:
        check = _PASSTHROUGH_CHECKS[info.field_name or ""]
        return [check(value) for value in values]

    @field_validator("call")
    @classmethod
    def _call(cls, value: str | None) -> str | None:
        return None if value is None else build_inputs.check_call(value)

    @field_validator("shm_size")
    @classmethod
    def _shm_size(cls, value: str | None) -> str | None:
        return None if value is None else build_inputs.check_shm_size(value)

    @field_validator("build_contexts")
    @classmethod
    def _build_contexts(cls, contexts: dict[str, str]) -> dict[str, str]:
        for name, value in contexts.items():
            build_inputs.check_build_context(name, value)
        return contexts

    @field_validator("secret_envs")
    @classmethod
    def _secret_envs(cls, pairs: dict[str, str]) -> dict[str, str]:
        for ident, variable in pairs.items():
            build_inputs.check_secret_env(ident, variable)
        return pairs

    @model_validator(mode="after")
    def _do_not_push(self) -> Settings:
        if _with_sources.get() and os.environ.get("DO_NOT_PUSH", "").strip().lower() not in FALSY:
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


_PASSTHROUGH_CHECKS = {
    "annotations": build_inputs.check_annotation,
    "ssh": build_inputs.check_ssh,
    "attests": build_inputs.check_attest,
    "no_cache_filters": build_inputs.check_stage,
    "add_hosts": build_inputs.check_add_host,
    "allow": build_inputs.check_allow,
    "ulimits": build_inputs.check_ulimit,
}


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
    path, in_pyproject = find_config_file(_config_file.get(), _config_dir.get() or Path.cwd())
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


def find_config_file(explicit: Path | None, cwd: Path) -> tuple[Path | None, bool]:
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


def parse_node_flag(text: str) -> dict[str, Any]:
    """``NAME=ENDPOINT[;platforms=a,b][;buildkitd-flags=…][;driver-opt=k=v]``."""
    head, *options = text.split(";")
    name, eq, endpoint = head.partition("=")
    usage = f"invalid --node {text!r}: expected NAME=ENDPOINT[;platforms=a,b]"
    if not eq or not name.strip() or not endpoint.strip():
        raise ConfigError(usage)
    node: dict[str, Any] = {"name": name.strip(), "endpoint": endpoint.strip()}
    for option in options:
        key, eq, value = option.partition("=")
        key = key.strip().replace("-", "_")
        if not eq:
            raise ConfigError(usage)
        if key == "platforms":
            node["platforms"] = [p.strip() for p in value.split(",") if p.strip()]
        elif key == "buildkitd_flags":
            node["buildkitd_flags"] = value
        elif key in ("driver_opt", "driver_opts"):
            node.setdefault("driver_opts", []).append(value)
        else:
            raise ConfigError(f"invalid --node {text!r}: unknown option {key!r}")
    return node


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
    tokens = (_config_file.set(config), _config_dir.set(cwd), _with_sources.set(True))
    try:
        settings = Settings(**dict(overrides or {}))
        settings._archs_file = (
            "platforms" not in settings.model_fields_set
            and ((cwd or Path.cwd()) / ARCHS_FILE).is_file()
        )
        return settings
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None
    finally:
        _config_file.reset(tokens[0])
        _config_dir.reset(tokens[1])
        _with_sources.reset(tokens[2])


def describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"] if not isinstance(p, int))
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting"
        problems.append(f"{where}: {message}" if where else message)
    return "invalid configuration: " + "; ".join(problems)
