"""Every build input buildxpy hands to ``docker buildx build``, declared once: its name (the
settings key and the Python keyword), type, check, ``BUILDXPY_*`` variable, flag, metavar and help,
the words buildx gets and the first buildx that has it. The settings field, the command-line flag,
the environment variable, the keyword of ``buildxpy.build`` and the argv are all made from here.

Entries are in the order buildx gets them (and ``--help`` shows them). Adding an input is one
entry here, and its tests."""

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, TypedDict, cast

from buildxpy.builds.input_declaration import Declared, Input, joined, read_declaration
from buildxpy.builds.inputs import (
    check_add_host,
    check_allow,
    check_annotation,
    check_attest,
    check_build_context,
    check_call,
    check_secret_env,
    check_shm_size,
    check_ssh,
    check_stage,
    check_ulimit,
)


def call_argv(flag: str, method: str | None) -> list[str]:
    # `build` is buildx's default: left out, it needs no buildx that knows --call (0.15+).
    return [f"{flag}={method}"] if method and method != "build" else []


class BuildxInputs(TypedDict, total=False):
    no_cache: Annotated[bool, Input("--no-cache", env=False)]
    pull: Annotated[bool, Input("--pull", env=False)]
    provenance: Annotated[
        str | None, Input("--provenance", metavar="VALUE", argv=joined, env=False, since="0.10")
    ]
    sbom: Annotated[
        str | None, Input("--sbom", metavar="VALUE", argv=joined, env=False, since="0.10")
    ]
    network: Annotated[
        str | None, Input("--network", help="networking mode for RUN steps (default, none, host)")
    ]
    # Merged with the OCI metadata, and read by split builds for their index: a BuildSpec field.
    annotations: Annotated[
        Sequence[str],
        Input(
            "--annotation", metavar="[LEVEL:]KEY=VALUE",
            help="OCI annotation, LEVEL manifest (default), index, …-descriptor",
            check=check_annotation, lines=True, since="0.12", own_field=True,
        ),
    ]  # fmt: skip
    ssh: Annotated[
        Sequence[str],
        Input(
            "--ssh", metavar="default|ID[=SOCKET|KEY[,KEY]]",
            help="ssh agent socket or keys for RUN --mount=type=ssh (repeatable)",
            check=check_ssh, lines=True,
        ),
    ]  # fmt: skip
    attests: Annotated[
        Sequence[str],
        Input("--attest", metavar="type=sbom|provenance[,K=V]", check=check_attest, lines=True,
              since="0.10"),
    ]  # fmt: skip
    no_cache_filters: Annotated[
        Sequence[str], Input("--no-cache-filter", metavar="STAGE", check=check_stage)
    ]
    add_hosts: Annotated[
        Sequence[str], Input("--add-host", metavar="HOST:IP", check=check_add_host)
    ]
    allow: Annotated[
        Sequence[str],
        Input("--allow", metavar="ENTITLEMENT", help="e.g. network.host, security.insecure",
              check=check_allow),
    ]  # fmt: skip
    ulimits: Annotated[
        Sequence[str],
        Input("--ulimit", metavar="NAME=SOFT[:HARD]", check=check_ulimit, since="0.7"),
    ]
    # Merged with buildxpy.lock's pins and read by the preflight: a BuildSpec field.
    build_contexts: Annotated[
        Mapping[str, str],
        Input("--build-context", metavar="NAME=PATH|docker-image://REF|target:STAGE",
              check_entry=check_build_context, since="0.8", own_field=True),
    ]  # fmt: skip
    shm_size: Annotated[
        str | None, Input("--shm-size", metavar="SIZE", check=check_shm_size, since="0.7")
    ]
    cgroup_parent: Annotated[
        str | None,
        Input("--cgroup-parent", metavar="CGROUP", help="parent cgroup of the RUN steps",
              since="0.7"),
    ]  # fmt: skip
    # buildx gets them as `--secret id=ID,env=ENVVAR`, resolved and masked with the secrets.
    secret_envs: Annotated[
        Mapping[str, str],
        Input("--secret-env", metavar="ID=ENVVAR",
              help="expose environment variable ENVVAR as build secret ID",
              check_entry=check_secret_env, argv=None),
    ]  # fmt: skip
    # A call other than `build` makes no image: the build reads it, a BuildSpec field.
    call: Annotated[
        str | None,
        Input("--call", metavar="METHOD", help="build, check, outline or targets (buildx ≥ 0.15)",
              check=check_call, argv=call_argv, since="0.15", own_field=True),
    ]  # fmt: skip


DECLARED: tuple[Declared, ...] = read_declaration(BuildxInputs)
_BY_NAME = {item.name: item for item in DECLARED}


def declared(name: str) -> Declared:
    return _BY_NAME[name]


def spec_inputs(values: Mapping[str, Any]) -> BuildxInputs:
    """What ``BuildSpec.inputs`` carries of these values (by name): the inputs given, bar those
    BuildSpec has fields for and those with no words of their own."""
    out: dict[str, Any] = {}
    for item in DECLARED:
        value: Any = values.get(item.name)
        if item.input.own_field or item.input.argv is None or not _given(value):
            continue
        if item.kind == "list":
            value = tuple(value)
        elif item.kind == "map":
            value = dict(value)
        out[item.name] = value
    return cast(BuildxInputs, out)


def _given(value: Any) -> bool:
    if value is None or value is False:
        return False
    return isinstance(value, str) or value is True or len(value) > 0
