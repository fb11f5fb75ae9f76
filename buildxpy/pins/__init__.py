"""``pins``: the base images builds use, by digest, in ``buildxpy.lock`` beside the configuration
(``lockfile``); read from the registry (``resolve``); what ``buildxpy pin`` makes of a lock
(``changes``); and the named build contexts that make a build take them without a change to its
Dockerfile (``contexts``)."""
