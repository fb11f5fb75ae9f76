"""Multi-platform indexes: the registry's side (``registry``: references, imagetools and docker
manifest argv, reading an index as the registry serves it), create, inspect and release
(``lists``), manifest-tool specs (``spec``), and ``login``."""
