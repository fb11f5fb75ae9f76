"""One multi-platform index from per-platform digest records: every record is checked against the
registry first, and unless the policy is met nothing is tagged.

The sources are the pushed digests themselves: when a build attached attestations, what it pushed is
an index (the image and its attestation manifest), and ``imagetools create`` keeps both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from buildxpy import log
from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError, CommandFailed, ConfigError
from buildxpy.manifests.lists import VerifyOptions, check_pushed, existing_builder, verify_options
from buildxpy.manifests.registry import (
    fetch,
    image_platform,
    imagetools_create_argv,
    parse_raw,
    parse_reference,
    platform_entries,
    registry_failure,
)
from buildxpy.platforms.names import Platform, parse
from buildxpy.split.options import MergeResult, Require, checked_annotations
from buildxpy.split.records import DigestRecord, read_records, record_files


class MergeRefused(BuildxpyError):
    """A platform the policy requires is missing or failed its check: nothing was tagged."""


def merge_records(
    records: Sequence[DigestRecord],
    *,
    refs: Sequence[str],
    platforms: Sequence[Platform],
    image: str | None = None,
    require: Require = "all",
    annotations: Mapping[str, str] | None = None,
    runner: Runner | None = None,
    verify: VerifyOptions | None = None,
    builder: str | None = None,
) -> MergeResult:
    """The index of ``platforms`` (each from its record) under every ref of ``refs``, checked
    with ``buildxpy.verify`` as ``verify`` says (None: not checked). The registry is read and
    written through ``builder`` (None: docker's current one), so its registry settings apply.

    ``require="all"``: every platform must have a record that checks out, else nothing is tagged. A
    list of platforms: those must; the others are merged when present and reported when not.
    """
    runner = runner or Runner()
    image = common_image(records, image)
    targets = [str(parse_reference(ref, what="tag", digest_ok=False)) for ref in refs]
    if not targets:
        raise ConfigError("merge needs at least one tag")
    index_annotations = checked_annotations(annotations or {})
    present, left_out, planned = _choose(
        runner, records, platforms, require, index_annotations, builder
    )
    sources = [r.source for r in present]
    argv = imagetools_create_argv(targets, sources, annotations=index_annotations, builder=builder)
    try:
        runner.run(*argv, mutating=True)
    except CommandFailed as exc:
        raise registry_failure(targets[0], exc, writing=True) from None
    result = MergeResult(
        image=image, refs=targets, digest=None, platforms=[r.platform for r in present],
        sources=sources, annotations=index_annotations, left_out=left_out,
        attestations=planned.attestations, dry_run=runner.dry_run,
    )  # fmt: skip
    if runner.dry_run:
        return result
    # The create combined the very sources the preview did, by digest, into the same bytes: the
    # preview's digest is the index's, no read needed.
    log.get().info("merged", ref=targets[0], digest=planned.digest, platforms=result.platforms)
    merged = str(parse_reference(targets[0]).at(planned.digest))
    # Exactly the platforms merged: a list policy may have left some out on purpose.
    expected = replace(verify, platforms=result.platforms) if verify else None
    report = check_pushed(runner, merged, expected, "merged")
    return result.model_copy(update={"digest": planned.digest, "verification": report})


def _choose(
    runner: Runner,
    records: Sequence[DigestRecord],
    platforms: Sequence[Platform],
    require: Require,
    index_annotations: Mapping[str, str],
    builder: str | None,
) -> tuple[list[DigestRecord], dict[str, str], Planned]:
    """The records to merge, the platforms left out and why, and the index they make; refused
    when a required platform has no record that checks out."""
    required = list(platforms) if require == "all" else list(require)
    wanted = list(dict.fromkeys([*platforms, *required]))
    by_platform = one_per_platform(records)
    left_out = {
        p: "not a configured platform" for p in by_platform if p not in {str(w) for w in wanted}
    }
    present = [by_platform[str(p)] for p in wanted if str(p) in by_platform]
    missing = {str(p): "no record" for p in wanted if str(p) not in by_platform}
    refuse_unless_met(missing, required)
    planned = preview(runner, present, index_annotations, builder)
    if planned is None:
        # Some record does not check out: find which, one by one.
        problems = check_all(runner, present, builder)
        refuse_unless_met({**missing, **problems}, required)
        present = [r for r in present if r.platform not in problems]
        left_out.update(problems)
        planned = preview(runner, present, index_annotations, builder) if present else None
        if planned is None:
            raise MergeRefused("merge refused, nothing was tagged: no platform to merge")
    left_out.update(missing)
    if left_out:
        log.get().warning("platforms left out of the index", left_out=left_out)
    return present, left_out, planned


def refuse_unless_met(problems: Mapping[str, str], required: Sequence[Platform]) -> None:
    blocking = {p: why for p, why in problems.items() if p in {str(r) for r in required}}
    if blocking:
        raise MergeRefused(
            "merge refused, nothing was tagged: "
            + "; ".join(f"{p}: {why}" for p, why in blocking.items())
        )


@dataclass(frozen=True, slots=True)
class Planned:
    digest: str
    attestations: int


def preview(
    runner: Runner,
    records: Sequence[DigestRecord],
    annotations: Mapping[str, str],
    builder: str | None = None,
) -> Planned | None:
    """The index ``imagetools create`` would write, from one ``--dry-run`` (the registry is read,
    nothing written), when it holds exactly each record's platform from that record: None when a
    source is missing or is not what its record says. The same sources give the same bytes, so its
    digest is the one the real create writes."""
    if not records:
        return None
    argv = imagetools_create_argv(
        [], [r.source for r in records], annotations=annotations, builder=builder
    )
    result = runner.run(*argv[:3], "--dry-run", *argv[3:], check=False)
    if result.exit_code != 0:
        return None
    raw = result.stdout[:-1] if result.stdout.endswith("\n") else result.stdout
    try:
        fetched = parse_raw("the merged index", raw)
    except BuildxpyError:
        return None
    if fetched.index is None:
        return None
    # Each source adds its manifests in turn: one image each (and its attestations).
    found = [m.platform for m in platform_entries(fetched.index)]
    if found != [r.platform for r in records]:
        return None
    attestations = len(fetched.index.manifests) - len(fetched.index.images)
    return Planned(fetched.digest, attestations)


def common_image(records: Sequence[DigestRecord], image: str | None) -> str:
    images = sorted({r.image for r in records})
    if image is None:
        if not images:
            raise ConfigError("no digest records to merge")
        if len(images) > 1:
            raise ConfigError(
                f"the records name several images ({', '.join(images)}); pass --image to choose"
            )
        return images[0]
    others = [i for i in images if i != image]
    if others:
        raise ConfigError(f"records of other images than {image}: {', '.join(others)}")
    return image


def one_per_platform(records: Sequence[DigestRecord]) -> dict[str, DigestRecord]:
    found: dict[str, DigestRecord] = {}
    for record in records:
        earlier = found.setdefault(record.platform, record)
        if earlier is not record and earlier.digest != record.digest:
            raise ConfigError(
                f"two records for {record.platform}: {earlier.digest} and {record.digest}"
            )
    return found


def check_all(
    runner: Runner, records: Sequence[DigestRecord], builder: str | None = None
) -> dict[str, str]:
    """Each record's image in the registry, asked concurrently: platform -> what is wrong."""
    if not records:
        return {}
    with ThreadPoolExecutor(max_workers=len(records), thread_name_prefix="merge") as pool:
        found = list(pool.map(lambda r: check_record(runner, r, builder), records))
    return {r.platform: why for r, why in zip(records, found, strict=True) if why}


def check_record(runner: Runner, record: DigestRecord, builder: str | None = None) -> str | None:
    """Why the registry's ``image@digest`` is not the record's platform, or None when it is."""
    try:
        fetched = fetch(runner, record.source, builder)
        if fetched.index is None:
            platforms = [image_platform(runner, record.source, builder)]
        else:
            platforms = [m.platform for m in platform_entries(fetched.index)]
    except BuildxpyError as exc:
        return f"{record.source}: {exc.message}"
    if platforms != [record.platform]:
        return f"{record.source} is {', '.join(platforms) or 'no image'}, not {record.platform}"
    return None


def refs_for(image: str, tags: Sequence[str]) -> list[str]:
    """A bare tag joined to ``image``; a full reference as it is."""
    return [tag if ("/" in tag or ":" in tag) else f"{image}:{tag}" for tag in tags]


def merge(
    records: Sequence[Path | str] = (),
    *,
    from_dir: Path | str | None = None,
    image: str | None = None,
    tags: Sequence[str] = ("latest",),
    platforms: Sequence[Platform | str] | None = None,
    require: Require | Sequence[str] = "all",
    annotations: Mapping[str, str] | None = None,
    runner: Runner | None = None,
    verify: bool = True,
    builder: str = "buildxpy",
) -> MergeResult:
    """The index for every tag of ``tags`` from digest records: the files ``records``, or every
    record in ``from_dir``. ``platforms`` (default: the records' own) is what the index should
    hold; ``require`` what it must (``"all"`` or a list). Unless ``verify=False`` the new index is
    checked with ``buildxpy.verify`` (files read on ``builder``)."""
    paths = [Path(p) for p in records]
    if from_dir is not None:
        if paths:
            raise ConfigError("give record files or a directory of records, not both")
        directory = Path(from_dir)
        paths = record_files(directory)
        if not paths:
            raise ConfigError(f"no digest records in {directory}")
    if not paths:
        raise ConfigError("no digest records to merge")
    found = read_records(paths)
    wanted = (
        [parse(str(p)) for p in platforms]
        if platforms is not None
        else [parse(r.platform) for r in found]
    )
    policy: Require = "all" if require == "all" else [parse(str(p)) for p in require]
    repository = common_image(found, image)
    runner = runner or Runner()
    checked = verify_options(runner, verify, None, builder)
    return merge_records(
        found, refs=refs_for(repository, tags), platforms=list(dict.fromkeys(wanted)),
        image=repository, require=policy, annotations=annotations, runner=runner, verify=checked,
        builder=checked.builder if checked is not None else existing_builder(runner, builder),
    )  # fmt: skip
