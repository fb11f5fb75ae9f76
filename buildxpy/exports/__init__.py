"""``export``: one ``type=docker`` tarball per platform, built concurrently, written atomically,
loaded and checked (``tarballs``)."""
