"""Which base images a build pulls, and for which platforms: the Dockerfile's variables replaced by
the build's values, the stages its target needs, and the images those stages start from.

As BuildKit reads it, per target platform:

- ``FROM`` sees the automatic platform arguments and the ``ARG``s declared before the first
  ``FROM``: a build argument gives a declared one its value (one given as None takes its value from
  the environment, which this does not see: its default counts), a build argument nobody declared
  changes nothing;
- the stages needed are the target (default: the last) and, transitively, the stage each one
  starts from and the stages it copies or mounts from (``COPY --from``, ``RUN --mount=…,from=``);
- a named build context replaces the stage, the image or the source of its name; its key is
  compared in its short form (``alpine`` for ``docker.io/library/alpine:latest``, and a
  platform-specific ``alpine::linux/arm64`` as ``alpine``), so a context never goes unseen;
- a stage ``FROM --platform=P`` pulls its base for P (``$BUILDPLATFORM``: the build's own), any
  other base, and an image a stage copies from, for the target platform.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from buildxpy.errors import ConfigError
from buildxpy.platforms.names import Platform, parse
from buildxpy.preflight.dockerfile import Dockerfile, Stage, parse_dockerfile
from buildxpy.preflight.words import Values, expand

SCRATCH = "scratch"
# An image and the platform one stage pulls it for.
Use = tuple[str, Platform]


@dataclass(frozen=True, slots=True)
class Base:
    """An image a build pulls, and the platforms it pulls it for."""

    ref: str
    platforms: tuple[Platform, ...]


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A base that cannot be named before the build: the checks leave it out."""

    text: str
    line: int | None  # of its FROM, COPY or RUN; None when not known
    reason: str


@dataclass(frozen=True, slots=True)
class BasePlan:
    bases: tuple[Base, ...]
    unresolved: tuple[Unresolved, ...] = ()


def plan_bases(
    dockerfile: Dockerfile | str,
    *,
    platforms: Sequence[Platform],
    build_platform: Platform,
    target: str | None = None,
    build_args: Mapping[str, str | None] | None = None,
    build_contexts: Mapping[str, str] | None = None,
) -> BasePlan:
    """The bases of the stages ``target`` needs, each with every platform it is pulled for."""
    parsed = parse_dockerfile(dockerfile) if isinstance(dockerfile, str) else dockerfile
    if not parsed.stages:
        return BasePlan(())  # BuildKit says so itself
    contexts = frozenset(short_name(key.partition("::")[0]) for key in build_contexts or {})
    wanted: dict[str, dict[Platform, None]] = {}
    unresolved: dict[Unresolved, None] = {}
    for platform in platforms:
        values = global_values(parsed, build_args or {}, platform, build_platform)
        build = _Build(parsed, values, contexts)
        for use in build.uses(build.target_stage(target), platform):
            if isinstance(use, Unresolved):
                unresolved.setdefault(use)
            else:
                wanted.setdefault(use[0], {}).setdefault(use[1])
    bases = tuple(Base(ref, tuple(found)) for ref, found in wanted.items())
    return BasePlan(bases, tuple(unresolved))


def global_values(
    dockerfile: Dockerfile,
    build_args: Mapping[str, str | None],
    target: Platform,
    build: Platform,
) -> dict[str, str | None]:
    """What ``FROM`` lines may use when building for ``target`` on ``build``."""
    values: dict[str, str | None] = {
        **_platform_values("TARGET", target),
        **_platform_values("BUILD", build),
    }
    for arg in dockerfile.args:
        given = build_args.get(arg.name)
        if given is not None:
            values[arg.name] = given
        elif arg.default is not None:
            # A default may use the ARGs above it.
            values[arg.name] = expand(arg.default, values, dockerfile.escape)
        else:
            # Declared without a value: the automatic platform arguments keep theirs.
            values.setdefault(arg.name, None)
    return values


def _platform_values(prefix: str, platform: Platform) -> dict[str, str | None]:
    return {
        f"{prefix}PLATFORM": str(platform),
        f"{prefix}OS": platform.os,
        f"{prefix}ARCH": platform.arch,
        f"{prefix}VARIANT": platform.variant,
    }


def short_name(name: str) -> str:
    """An image name as BuildKit looks up a named context for it: ``docker.io/library/`` and
    ``:latest`` left out."""
    name = name.strip().lower()
    for prefix in ("docker.io/", "index.docker.io/"):
        name = name.removeprefix(prefix)
    if name.startswith("library/") and name.count("/") == 1:
        name = name.removeprefix("library/")
    return name if "@" in name else name.removesuffix(":latest")


@dataclass(frozen=True, slots=True)
class _Build:
    """One target platform's view of the Dockerfile."""

    dockerfile: Dockerfile
    values: Values
    contexts: frozenset[str]

    def expand(self, word: str) -> str:
        return expand(word, self.values, self.dockerfile.escape).strip()

    def target_stage(self, target: str | None) -> Stage:
        stages = self.dockerfile.stages
        if target is None:
            return stages[-1]
        for stage in stages:
            if stage.name == target.lower():
                return stage
        raise ConfigError(f"target stage {target!r} is not in the Dockerfile")

    def uses(self, target: Stage, platform: Platform) -> Iterator[Use | Unresolved]:
        """Each image the needed stages pull, in the Dockerfile's order."""
        for stage in self._needed(target):
            base = self.expand(stage.base)
            if self._stage_named(base, before=stage.index) is None:
                yield from self._base(stage, base, platform)
            for source in stage.sources:
                word = self.expand(source)
                if self._source_stage(word) is None:
                    yield from self._image(stage, source, word, platform)

    def _needed(self, target: Stage) -> list[Stage]:
        todo, seen = [target], {target.index: target}
        while todo:
            stage = todo.pop()
            if self._is_context(stage.name):
                continue  # the context stands in for the whole stage
            parent = self._stage_named(self.expand(stage.base), before=stage.index)
            sources = (self._source_stage(self.expand(source)) for source in stage.sources)
            for found in (parent, *sources):
                if found is not None and found.index not in seen:
                    seen[found.index] = found
                    todo.append(found)
        return [seen[i] for i in sorted(seen) if not self._is_context(seen[i].name)]

    def _stage_named(self, word: str, *, before: int) -> Stage | None:
        for stage in self.dockerfile.stages[:before]:
            if stage.name is not None and stage.name == word.lower():
                return stage
        return None

    def _source_stage(self, word: str) -> Stage | None:
        """A ``--from`` names any stage, by name or by index."""
        stages = self.dockerfile.stages
        if word.isdigit():
            return stages[int(word)] if int(word) < len(stages) else None
        return self._stage_named(word, before=len(stages))

    def _is_context(self, name: str | None) -> bool:
        return name is not None and short_name(name) in self.contexts

    def _base(self, stage: Stage, base: str, platform: Platform) -> Iterator[Use | Unresolved]:
        if not base or "$" in base:
            yield _unresolved(stage, stage.base, base)
            return
        if base.lower() == SCRATCH or self._is_context(base):
            return
        if stage.platform is None:
            yield base, platform
            return
        text = self.expand(stage.platform)
        try:
            yield base, parse(text)
        except ConfigError:
            yield Unresolved(base, stage.line, f"FROM --platform={stage.platform}: {text!r} "
                             "is no platform")  # fmt: skip

    def _image(
        self, stage: Stage, source: str, word: str, platform: Platform
    ) -> Iterator[Use | Unresolved]:
        """An image a stage copies or mounts from: BuildKit pulls it for the target platform."""
        if not word or "$" in word:
            yield _unresolved(stage, source, word)
        elif not word.isdigit() and not self._is_context(word):
            yield word, platform  # (an index past the last stage is BuildKit's error to report)


def _unresolved(stage: Stage, written: str, expanded: str) -> Unresolved:
    if not expanded:
        return Unresolved(written, stage.line, f"{written!r} names no image with these build args")
    return Unresolved(
        expanded,
        stage.line,
        f"{written!r} holds a variable no ARG before the first FROM declares",
    )
