"""``verify``: proof that a pushed image is what it claims, without running it: the index and each
config (``check``), the entrypoint resolved in the image's files (``files``, ``entrypoint``), the
report (``report``)."""
