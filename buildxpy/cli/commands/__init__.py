"""One module a command group; each has ``register(subparsers, common)``."""
