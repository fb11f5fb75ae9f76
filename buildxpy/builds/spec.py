"""What one build is asked to make, as plain values: the seam between the configuration and the
commands that build (``build``, ``export``) and the argv they run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from buildxpy.builds.buildx_inputs import BuildxInputs
from buildxpy.ci.git_tags import TagRules
from buildxpy.errors import ConfigError
from buildxpy.platforms.names import Platform

if TYPE_CHECKING:
    from buildxpy.builds.cache import DefaultCache


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
    progress: str | None = None
    push: bool = False
    # Check the pushed image (buildxpy.verify) once it is pushed.
    verify: bool = True
    load: bool = False
    output_dir: Path = Path("dist")
    # The declared build inputs (builds/buildx_inputs.py) others read or merge by name...
    annotations: tuple[str, ...] = ()
    build_contexts: Mapping[str, str] = field(default_factory=dict)
    call: str | None = None
    # ...and every other one given, as given (checked for form by the settings).
    inputs: BuildxInputs = field(default_factory=BuildxInputs)
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
