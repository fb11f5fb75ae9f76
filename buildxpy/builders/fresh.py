"""A builder made for one job and removed after it, state volume and all: a rebuild that must not
see any earlier build's cache."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

from buildxpy import log
from buildxpy.builders.description import BuilderDescription
from buildxpy.builders.manage import ensure_builder, remove_builder
from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError
from buildxpy.platforms.names import Platform


@contextmanager
def fresh_builder(
    config: BuilderDescription, platforms: Sequence[Platform], runner: Runner
) -> Iterator[str]:
    """A new builder like ``config`` (its driver options, nodes and registry settings), named
    after it; the docker driver's builder would share the engine's cache, so it becomes a
    docker-container builder."""
    suffix = secrets.token_hex(3)
    name = f"{config.name}-fresh-{suffix}"
    driver = "docker-container" if config.driver == "docker" else config.driver
    # Its nodes get names of their own: a node's name is its container's (buildx_buildkit_NAME)
    # and its docker context's, which the configured builder's nodes already hold.
    nodes = tuple(replace(node, name=f"{node.name}-{suffix}") for node in config.nodes)
    fresh = replace(config, name=name, driver=driver, nodes=nodes)
    ensure_builder(fresh, platforms, runner)
    try:
        yield name
    finally:
        try:
            if runner.dry_run:
                # Nothing was made: the command is shown, as the ones that would have made it were.
                runner.run("buildx", "rm", name, mutating=True)
            else:
                remove_builder(name, runner)
        except BuildxpyError as exc:
            log.get().warning("could not remove the fresh builder", builder=name, error=str(exc))
