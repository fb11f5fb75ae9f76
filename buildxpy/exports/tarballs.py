"""One ``type=docker`` image tarball per platform, built concurrently and written atomically.

buildx cannot write a single ``type=docker`` tarball for several platforms, so each platform gets its
own ``docker buildx build`` process. They run side by side (one thread each, all through the same
runner); a tarball is built under a temporary name in the output directory and renamed into place
only when every platform has succeeded, and put back when a later rename fails, so an export either
replaces all its files or none.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from buildxpy import log
from buildxpy.builders.missing import explain_failure
from buildxpy.builds.argv import export_argv
from buildxpy.builds.bases import prepare_bases
from buildxpy.builds.concurrent import POLL_SECONDS, boot_first, stop_all
from buildxpy.builds.defaults import complete
from buildxpy.builds.inputs import check_present
from buildxpy.builds.secrets import resolve_secrets
from buildxpy.builds.spec import BuildSpec, check_inputs
from buildxpy.docker.input_text import check_command
from buildxpy.docker.models import ImageInspect, load_json
from buildxpy.docker.runner import Runner, output_prefix
from buildxpy.errors import BuildxpyError, CommandFailed, ConfigError
from buildxpy.file_install import check_target, install
from buildxpy.platforms.names import Platform, parse
from buildxpy.result_model import ResultModel

MAX_TAG_LENGTH = 128


class ExportResult(ResultModel):
    platform: str
    path: Path
    bytes: int
    tags: list[str]
    loaded: bool = False


class LoadResult(ResultModel):
    path: Path
    refs: list[str]


@dataclass(frozen=True, slots=True)
class PlannedExport:
    platform: Platform
    path: Path
    tags: list[str]


def tarball_name(image: str, platform: Platform) -> str:
    return f"{image.rsplit('/', 1)[-1]}-{platform.slug}.tar"


def split_tag(ref: str) -> tuple[str, str]:
    """``reg:5000/app:1.0`` -> (``reg:5000/app``, ``1.0``); no tag means ``latest``."""
    if "@" in ref:
        raise ConfigError(f"cannot export to {ref!r}: a digest reference cannot be a tag")
    name, colon, tag = ref.rpartition(":")
    if colon and "/" not in tag:
        return name, tag
    return ref, "latest"


def platform_ref(ref: str, platform: Platform) -> str:
    name, tag = split_tag(ref)
    suffixed = f"{tag}-{platform.slug}"
    if len(suffixed) > MAX_TAG_LENGTH:
        raise ConfigError(
            f"tag {suffixed!r} is longer than {MAX_TAG_LENGTH} characters; use a shorter tag"
        )
    return f"{name}:{suffixed}"


def plan(spec: BuildSpec, platforms: Sequence[Platform]) -> list[PlannedExport]:
    """What each platform's tarball is called and which tags it carries."""
    image = spec.require_image()
    refs = spec.tags
    for ref in refs:
        split_tag(ref)  # a digest reference cannot name a result, even unsuffixed
    several = len(platforms) > 1
    if several and spec.cache_to:
        log.get().warning(
            "every platform's build exports its cache to the same --cache-to; the last one to "
            "finish replaces the others' (give each platform its own cache with separate exports)",
            cache_to=list(spec.cache_to),
        )
    return [
        PlannedExport(
            platform=platform,
            path=spec.output_dir / tarball_name(image, platform),
            tags=[platform_ref(ref, platform) for ref in refs] if several else list(refs),
        )
        for platform in platforms
    ]


def checked_plan(
    spec: BuildSpec, platforms: Sequence[Platform] | None = None
) -> list[PlannedExport]:
    """The tarballs to write, after every local check that can refuse the export: the context,
    the Dockerfile, each target path, the secrets."""
    items = plan(spec, list(platforms or spec.platforms))
    check_inputs(spec)
    check_present(spec.inputs.get("ssh", ()), spec.build_contexts)
    for item in items:
        check_target(item.path, "cannot export to")
        check_command(["docker", *export_argv(spec, item.platform, item.tags, item.path)], {}, None)
    resolve_secrets(spec.secrets)
    return items


def export_images(
    spec: BuildSpec,
    platforms: Sequence[Platform] | None = None,
    runner: Runner | None = None,
    *,
    load: bool = False,
    completed: bool = False,
) -> list[ExportResult]:
    runner = runner or Runner()
    if not completed:
        spec = complete(spec, runner, exporting=True)
    items = checked_plan(spec, platforms)
    spec = prepare_bases(spec, runner, [item.platform for item in items])
    if runner.dry_run:
        return _dry_run(spec, runner, items, load=load)
    temps: list[Path] = []
    try:
        spec.output_dir.mkdir(parents=True, exist_ok=True)
        temps += [_temporary(item.path) for item in items]
    except OSError as exc:
        _remove(temps)
        raise BuildxpyError(f"cannot write to {spec.output_dir}: {exc.strerror}") from None
    try:
        _build_all(spec, runner, items, temps)
        for temp, item in zip(temps, items, strict=True):
            _finish(temp, item.path)
        install([(temp, item.path) for temp, item in zip(temps, items, strict=True)])
    finally:
        _remove(temps)
    results = [
        ExportResult(
            platform=str(item.platform),
            path=item.path,
            bytes=item.path.stat().st_size,
            tags=item.tags,
        )
        for item in items
    ]
    if load:
        for result, item in zip(results, items, strict=True):
            _load_and_verify(runner, item)
            result.loaded = True
    return results


def _dry_run(
    spec: BuildSpec, runner: Runner, items: list[PlannedExport], *, load: bool
) -> list[ExportResult]:
    for item in items:
        runner.stream(*export_argv(spec, item.platform, item.tags, item.path))
    if load:
        for item in items:
            runner.run("load", "-i", str(item.path), mutating=True)
    return [
        ExportResult(platform=str(i.platform), path=i.path, bytes=0, tags=i.tags) for i in items
    ]


def _temporary(path: Path) -> Path:
    # Same directory as the target, so the final rename never crosses a file system.
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(name)


def _remove(temps: list[Path]) -> None:
    for temp in temps:
        temp.unlink(missing_ok=True)


def _finish(temp: Path, path: Path) -> None:
    if temp.stat().st_size == 0:
        raise BuildxpyError(f"docker buildx build wrote nothing for {path}")
    temp.chmod(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _build_all(
    spec: BuildSpec, runner: Runner, items: list[PlannedExport], temps: list[Path]
) -> None:
    several = len(items) > 1
    boot_first(runner, spec.builder, len(items))
    # Several buildx displays cannot share one terminal: plain, platform-prefixed lines instead.
    progress = "plain" if several else None
    cancelled = threading.Event()
    pool = ThreadPoolExecutor(max_workers=len(items), thread_name_prefix="export")
    futures = {
        pool.submit(
            _build_one,
            runner,
            export_argv(spec, item.platform, item.tags, temp, progress=progress),
            f"[{item.platform}] " if several else None,
            cancelled,
        ): item
        for item, temp in zip(items, temps, strict=True)
    }
    try:
        failure = _first_failure(futures)
    except BaseException:
        stop_all(runner, futures, cancelled)
        pool.shutdown(wait=True)
        raise
    if failure is not None:
        stop_all(runner, futures, cancelled)
    pool.shutdown(wait=True)
    if failure is not None:
        item, error = failure
        if isinstance(error, CommandFailed):
            raise _describe_failure(runner, spec.builder, item, error) from None
        raise error


def _build_one(
    runner: Runner, argv: list[str], prefix: str | None, cancelled: threading.Event
) -> None:
    if cancelled.is_set():
        return
    with output_prefix(prefix):
        runner.stream(*argv)


def _first_failure(
    futures: dict[Future[None], PlannedExport],
) -> tuple[PlannedExport, BaseException] | None:
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_EXCEPTION)
        for future in done:
            error = future.exception()
            if error is not None:
                return futures[future], error
    return None


def _describe_failure(
    runner: Runner, builder: str, item: PlannedExport, exc: CommandFailed
) -> BuildxpyError:
    explained = explain_failure(runner, builder, exc)
    if explained is not exc:
        return explained
    return exc.restated(
        f"export for {item.platform} failed: `docker buildx build` exited with {exc.exit_code}"
    )


def _load_and_verify(runner: Runner, item: PlannedExport) -> None:
    loaded = load_one(runner, item.path)
    for ref in item.tags:
        actual = image_platform(runner, ref)
        if actual != item.platform:
            raise BuildxpyError(
                f"{item.path}: loaded image {ref} is {actual}, but {item.platform} was exported"
            )
    log.get().info("loaded", path=str(item.path), refs=loaded)


def image_platform(runner: Runner, ref: str) -> Platform:
    result = runner.run("image", "inspect", "--format", "{{json .}}", ref)
    return platform_of(load_json(ImageInspect, result.stdout, what=f"docker image inspect {ref}"))


def platform_of(inspect: ImageInspect) -> Platform:
    return parse(inspect.platform_text)


def parse_loaded(stdout: str) -> list[str]:
    """The references (or image IDs, for untagged images) in ``docker load`` output."""
    refs = []
    for line in stdout.splitlines():
        for marker in ("Loaded image: ", "Loaded image ID: "):
            if line.startswith(marker):
                refs.append(line[len(marker) :].strip())
    return refs


def load_one(runner: Runner, path: Path) -> list[str]:
    result = runner.run("load", "-i", str(path), mutating=True)
    refs = parse_loaded(result.stdout)
    if not refs and not result.dry_run:
        raise BuildxpyError(f"`docker load -i {path}` reported no image")
    return refs


def load_tarballs(paths: Iterable[Path | str], runner: Runner | None = None) -> list[LoadResult]:
    runner = runner or Runner()
    files = [Path(p) for p in paths]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise ConfigError(f"no such file: {', '.join(missing)}")
    return [LoadResult(path=path, refs=load_one(runner, path)) for path in files]
