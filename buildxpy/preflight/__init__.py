"""``preflight``: before a build, the base images of the stages its target needs, read from the
Dockerfile (``dockerfile``, ``words``, ``plan``: pure) and asked of the registry all at once
(``bases``, ``matching``); the build is refused in one line (``PreflightFailed``) when a base lacks
a target platform or does not exist (``check``). Others import ``preflight`` and
``PreflightFailed`` from here."""

from buildxpy.preflight.check import PreflightFailed, PreflightReport, preflight

__all__ = ["PreflightFailed", "PreflightReport", "preflight"]
