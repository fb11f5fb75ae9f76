"""What one build is asked to make, as plain values: the seam between the configuration and the
commands that build (``build``, ``export``) and the argv they run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from buildxpy.builds.inputs import secret_env_specs
from buildxpy.ci.git_tags import TagRules
from buildxpy.errors import ConfigError
from buildxpy.platforms.names import Platform

if TYPE_CHECKING:
    from buildxpy.builds.cache import DefaultCache
    from buildxpy.settings.model import Settings


@dataclass(frozen=True, slots=True)
class BuildSpec:
    platforms: tuple[Platform, ...]
    context: str = "."
    # The repository: names export's tarballs; tags are already full references.
    image: str | None = None
    tags: tuple[str, ...] = ()
    builder: str = "buildxpy"
    dockerfile: str | None = None
    target: str | None = None
    # A value of None passes the bare KEY: buildx then reads the value from its environment.
    build_args: Mapping[str, str | None] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    no_cache: bool = False
    pull: bool = False
    provenance: str | None = None
    sbom: str | None = None
    network: str | None = None
    progress: str | None = None
    push: bool = False
    # Check the pushed image (buildxpy.verify) once it is pushed.
    verify: bool = True
    load: bool = False
    output_dir: Path = Path("dist")
    # Passed through to buildx as given (checked for form by the settings).
    annotations: tuple[str, ...] = ()
    ssh: tuple[str, ...] = ()
    build_contexts: Mapping[str, str] = field(default_factory=dict)
    attests: tuple[str, ...] = ()
    call: str | None = None
    no_cache_filters: tuple[str, ...] = ()
    add_hosts: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    shm_size: str | None = None
    ulimits: tuple[str, ...] = ()
    # Ask the registry, before building, whether every base has every platform.
    preflight: bool = False
    # Asked for by the user; `source_date_epoch` is filled in before the build.
    reproducible: bool = False
    source_date_epoch: str | None = None
    # buildxpy.lock's place (beside the configuration); builds take the bases it pins.
    lock_file: Path | None = None
    # What `build_defaults.complete` adds before a build: tags and OCI metadata from git, and a
    # cache. A spec made by hand asks for none of it.
    tags_from: str | None = None
    tag_rules: TagRules = field(default_factory=TagRules)
    # False when `tags` is only the default (`latest`), which tags from git replace.
    tags_given: bool = True
    oci_metadata: bool = False
    licenses: str | None = None
    cache: str = "off"
    default_cache: DefaultCache | None = None

    def require_image(self) -> str:
        if not self.image:
            raise ConfigError(
                "no image configured: pass --image, set BUILDXPY_IMAGE, or set `image` in buildxpy.toml"
            )
        return self.image


def spec_from_settings(settings: Settings) -> BuildSpec:
    return BuildSpec(
        platforms=tuple(settings.platforms),
        context=settings.context,
        image=settings.image,
        tags=tuple(settings.refs),
        builder=settings.builder.name,
        dockerfile=settings.dockerfile,
        target=settings.target,
        build_args=dict(settings.build_args),
        labels=dict(settings.labels),
        secrets=(*settings.secrets, *secret_env_specs(settings.secret_envs)),
        cache_from=tuple(settings.cache_from),
        cache_to=tuple(settings.cache_to),
        no_cache=settings.no_cache,
        pull=settings.pull,
        provenance=settings.provenance,
        sbom=settings.sbom,
        network=settings.network,
        progress=settings.progress,
        push=settings.push,
        verify=settings.verify,
        load=settings.load,
        output_dir=settings.output_dir,
        annotations=tuple(settings.annotations),
        ssh=tuple(settings.ssh),
        build_contexts=dict(settings.build_contexts),
        attests=tuple(settings.attests),
        call=settings.call,
        no_cache_filters=tuple(settings.no_cache_filters),
        add_hosts=tuple(settings.add_hosts),
        allow=tuple(settings.allow),
        shm_size=settings.shm_size,
        ulimits=tuple(settings.ulimits),
        preflight=settings.preflight,
        reproducible=settings.reproducible,
        lock_file=settings.lock_file,
        tags_from=settings.tags_from,
        tag_rules=settings.tag_rules,
        tags_given=settings.tags_given,
        oci_metadata=settings.oci_metadata,
        licenses=settings.licenses,
        cache=settings.cache,
    )


def check_inputs(spec: BuildSpec) -> None:
    """Catch a mistyped local context or Dockerfile before docker is asked."""
    context = spec.context
    if context == "-" or "://" in context or context.startswith("git@"):
        return
    if not Path(context).is_dir():
        raise ConfigError(f"build context {context!r} is not a directory")
    dockerfile = spec.dockerfile
    if dockerfile and dockerfile != "-" and not Path(dockerfile).is_file():
        raise ConfigError(f"Dockerfile {dockerfile!r} does not exist")
