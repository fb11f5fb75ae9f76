"""The errors buildxpy raises on purpose. Each one's ``str`` is the single line a user sees."""

from __future__ import annotations

from collections.abc import Sequence


class BuildxpyError(Exception):
    """An expected failure: shown as one line, exit code 1, no traceback."""

    def __init__(self, message: str, *, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)

    def __str__(self) -> str:
        return self.message


class ConfigError(BuildxpyError):
    """The configuration or the command line asks for something invalid."""


class DockerNotFound(BuildxpyError):
    """No docker CLI on PATH."""


class BuilderNotFound(BuildxpyError):
    """The named builder does not exist."""


class ImageNotFound(BuildxpyError):
    """The registry has no manifest under that reference."""


class RegistryError(BuildxpyError):
    """The registry could not be read or written."""


class CommandFailed(BuildxpyError):
    """A docker command exited non-zero; carries its redacted argv and the tail of its stderr."""

    def __init__(
        self,
        argv: Sequence[str],
        exit_code: int,
        stderr_tail: Sequence[str] = (),
        *,
        message: str | None = None,
    ) -> None:
        self.argv = list(argv)
        self.exit_code = exit_code
        self.stderr_tail = list(stderr_tail)
        command = " ".join(self.argv[:3])
        super().__init__(
            message or f"`{command}` failed with exit code {exit_code}",
            details=self.stderr_tail,
        )

    def restated(self, message: str) -> CommandFailed:
        """The same failure (argv, exit code, stderr) told in the caller's words."""
        return CommandFailed(self.argv, self.exit_code, self.stderr_tail, message=message)


class CommandTimeout(CommandFailed):
    """A docker command ran past its time limit and was stopped."""
