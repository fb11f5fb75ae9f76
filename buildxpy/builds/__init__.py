"""One ``docker buildx build``: the build as plain values (``spec``), its argv (``argv``, pure),
inputs, secrets and cache; what buildxpy adds (``defaults``); the build itself (``one_build``);
buildx's progress (``progress``), the routing plan and the emulation-cost report (``reporting``,
``report``); builds that know where each platform runs (``native``); several at once
(``concurrent``). Others import ``spec``, ``native``, ``one_build`` and ``results``."""
