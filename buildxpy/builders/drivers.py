"""The buildx drivers buildxpy treats apart from the others."""

from __future__ import annotations

# The engine's own BuildKit: one node, the docker context itself.
DOCKER_DRIVER = "docker"
# Drivers whose nodes run on a docker daemon, so a URL endpoint becomes a docker context.
CONTEXT_DRIVERS = frozenset({"docker-container"})
# Drivers whose nodes are not docker daemons: their own platform is the first one a running node
# reports (BuildKit lists the machine's platform first).
NON_DOCKER_DRIVERS = frozenset({"remote", "kubernetes"})
