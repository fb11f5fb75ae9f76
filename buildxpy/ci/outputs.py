"""Results for the CI step that ran buildxpy: GitHub Actions step outputs (``$GITHUB_OUTPUT``) and
job summary (``$GITHUB_STEP_SUMMARY``), and a dotenv file (``--output-env``) for GitLab CI
(``artifacts:reports:dotenv``) and Makefiles (``include``).

Every value is redacted before it is written, and buildx's provenance (which repeats the build's
arguments) is left out of the metadata, so no secret reaches a file a later step or job can read.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from buildxpy import log, redact
from buildxpy.errors import BuildxpyError

if TYPE_CHECKING:
    from buildxpy.builds.one_build import BuildResult
    from buildxpy.exports.tarballs import ExportResult

DOTENV_PREFIX = "BUILDXPY_OUT_"
# buildx records the build's arguments here; they may hold what a secret should have held.
_LEFT_OUT = ("buildx.build.provenance",)


def on_github(environ: Mapping[str, str]) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true"


def build_outputs(result: BuildResult, image: str | None) -> dict[str, str]:
    metadata = _metadata(result.metadata_file)
    return {
        "image": image or "",
        "digest": result.digest or "",
        "imageid": image_id(metadata, result.digest),
        "tags": "\n".join(result.tags),
        "platforms": ",".join(result.platforms),
        "metadata": json.dumps(metadata, indent=2, sort_keys=True) if metadata else "",
        "metadata_file": result.metadata_file or "",
    }


def image_id(metadata: Mapping[str, Any], digest: str | None) -> str:
    """What `docker images` shows as the IMAGE ID: the config's digest for one platform; for a
    multi-platform build (no one config) the index's digest, as the containerd image store names
    a multi-platform image."""
    config = metadata.get("containerimage.config.digest")
    if isinstance(config, str) and config:
        return config
    index = metadata.get("containerimage.digest")
    return index if isinstance(index, str) and index else digest or ""


def export_outputs(results: Sequence[ExportResult], image: str | None) -> dict[str, str]:
    listed = [r.model_dump(mode="json") for r in results]
    return {
        "image": image or "",
        "tarballs": "\n".join(str(r.path) for r in results),
        "tags": "\n".join(tag for r in results for tag in r.tags),
        "platforms": ",".join(r.platform for r in results),
        "metadata": json.dumps(listed, indent=2),
    }


def build_summary(result: BuildResult, image: str | None) -> str:
    rows = [
        ("image", _code(image or "")),
        ("digest", _code(result.digest or "(none)")),
        ("tags", "<br>".join(_code(t) for t in result.tags)),
        ("platforms", ", ".join(result.platforms)),
        ("pushed", "yes" if result.pushed else "no"),
    ]
    lines = ["### buildxpy build", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines) + "\n"


def export_summary(results: Sequence[ExportResult]) -> str:
    lines = [
        "### buildxpy export",
        "",
        "| platform | tarball | bytes | tags |",
        "|---|---|---|---|",
    ]
    for r in results:
        tags = "<br>".join(_code(t) for t in r.tags)
        lines.append(f"| {r.platform} | {_code(str(r.path))} | {r.bytes} | {tags} |")
    return "\n".join(lines) + "\n"


def publish(
    outputs: Mapping[str, str],
    summary: str,
    *,
    environ: Mapping[str, str] | None = None,
    dotenv: Path | None = None,
) -> None:
    """Write the outputs where the CI reads them: GitHub Actions' files when running there, and
    ``dotenv`` when asked for."""
    environ = os.environ if environ is None else environ
    values = {name: redact.text(value) for name, value in outputs.items()}
    if on_github(environ):
        if path := environ.get("GITHUB_OUTPUT"):
            _append(Path(path), "".join(github_output(name, v) for name, v in values.items()))
        if path := environ.get("GITHUB_STEP_SUMMARY"):
            _append(Path(path), redact.text(summary))
    if dotenv is not None:
        write_dotenv(dotenv, values)


def github_output(name: str, value: str) -> str:
    """One ``$GITHUB_OUTPUT`` entry in the heredoc form, which holds any value, several lines too;
    the delimiter is random and never part of the value."""
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    while delimiter in value:
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def dotenv_lines(values: Mapping[str, str]) -> str:
    """``BUILDXPY_OUT_NAME=value`` lines, unquoted: GitLab reads quotes as part of the value and
    takes no value over several lines, so lists are joined with commas."""
    lines = []
    for name, value in values.items():
        if name == "metadata":
            continue  # JSON over many lines: BUILDXPY_OUT_METADATA names the file that holds it
        key = "metadata" if name == "metadata_file" else name
        flat = ",".join(part for part in value.splitlines() if part)
        lines.append(f"{DOTENV_PREFIX}{key.upper()}={flat}")
    return "\n".join(lines) + "\n"


def write_dotenv(path: Path, values: Mapping[str, str]) -> None:
    """Replaced whole, or left as it was."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(dotenv_lines(values), encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise BuildxpyError(f"cannot write {path}: {exc.strerror or exc}") from None
    log.get().info("results written", path=str(path))


def _append(path: Path, text: str) -> None:
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise BuildxpyError(f"cannot write {path}: {exc.strerror or exc}") from None


def _metadata(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if not k.startswith(_LEFT_OUT)}


def _code(text: str) -> str:
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`" if text else ""
