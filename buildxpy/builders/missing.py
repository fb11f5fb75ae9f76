"""A buildx command failed: was it because the builder does not exist? Kept apart from the other
builder facts so that ``build`` and ``export`` load no more than this to say so."""

from __future__ import annotations

from buildxpy.docker.runner import Runner
from buildxpy.errors import BuilderNotFound, BuildxpyError, CommandFailed


def builder_not_found(name: str) -> BuilderNotFound:
    return BuilderNotFound(
        f"builder {name!r} does not exist; create it with `buildxpy builder setup`"
    )


def explain_failure(runner: Runner, builder: str, exc: CommandFailed) -> BuildxpyError:
    """A buildx command failed; when the reason is a missing builder, say that instead."""
    marker = f'no builder "{builder}" found'
    if any(marker in line for line in exc.stderr_tail):
        return builder_not_found(builder)
    if not exc.stderr_tail:
        # The output went straight to a terminal, so ask buildx directly.
        probe = runner.run("buildx", "inspect", builder, check=False)
        if probe.exit_code != 0 and "no builder" in probe.stderr:
            return builder_not_found(builder)
    return exc
