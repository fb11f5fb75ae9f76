"""What the settings make of a build and a builder: the plain values the capabilities take
(``BuildSpec``, the builder's description), so that only the command line and the Python API read
the configuration."""

from __future__ import annotations

from buildxpy.builders.plan import DesiredBuilder, desired_builder
from buildxpy.builds.buildx_inputs import spec_inputs
from buildxpy.builds.inputs import secret_env_specs
from buildxpy.builds.spec import BuildSpec
from buildxpy.settings.model import Settings


def spec_from_settings(settings: Settings) -> BuildSpec:
    given = settings.declared()
    return BuildSpec(
        platforms=tuple(settings.platforms),
        context=settings.context,
        image=settings.image,
        tags=tuple(settings.refs),
        builder=settings.builder.name,
        dockerfile=settings.dockerfile,
        target=settings.target,
        build_args=dict(settings.build_args),
        labels=dict(settings.labels),
        secrets=(*settings.secrets, *secret_env_specs(given["secret_envs"])),
        cache_from=tuple(settings.cache_from),
        cache_to=tuple(settings.cache_to),
        progress=settings.progress,
        push=settings.push,
        verify=settings.verify,
        load=settings.load,
        output_dir=settings.output_dir,
        annotations=tuple(given["annotations"]),
        build_contexts=dict(given["build_contexts"]),
        call=given["call"],
        inputs=spec_inputs(given),
        preflight=settings.preflight,
        reproducible=settings.reproducible,
        lock_file=settings.lock_file,
        tags_from=settings.tags_from,
        tag_rules=settings.tag_rules,
        tags_given=settings.tags_given,
        oci_metadata=settings.oci_metadata,
        licenses=settings.licenses,
        cache=settings.cache,
    )


def desired_from_settings(settings: Settings) -> DesiredBuilder:
    return desired_builder(settings.builder.description(), settings.builder_platforms)
