"""Builders: the wanted builder against the one buildx has, and the few create/append/leave/rm
calls between them (``plan``, ``manage``, ``state``, ``facts``, ``boot``); buildkitd configuration;
which node builds each platform (``routing``, ``routing_facts``, ``natives``); ``doctor`` and
``qemu``. Others import ``manage`` (setup, ls, inspect, rm, use, stop), ``missing``, ``routing``
and ``doctor``."""
