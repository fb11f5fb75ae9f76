"""`buildxpy qemu install`: register QEMU emulators in binfmt_misc with the F flag."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from buildxpy.builders.doctor import Check, emulator_check
from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError, CommandFailed
from buildxpy.platforms.emulation import BINFMT_DIR, needing_qemu
from buildxpy.platforms.names import Platform, host_platform, parse_list
from buildxpy.result_model import ResultModel

# Pinned so a registration is reproducible; --image picks a mirror or another release.
BINFMT_IMAGE = "tonistiigi/binfmt:qemu-v8.1.5"


class QemuResult(ResultModel):
    image: str
    installed: list[str]
    already: list[str]
    checks: list[Check]
    dry_run: bool = False


def qemu_install(
    platforms: Sequence[Platform | str],
    runner: Runner | None = None,
    *,
    image: str = BINFMT_IMAGE,
    force: bool = False,
    binfmt_dir: Path = BINFMT_DIR,
    host: Platform | None = None,
) -> QemuResult:
    runner = runner or Runner()
    foreign = needing_qemu(host or host_platform(), parse_list(str(p) for p in platforms))
    before = {p: emulator_check(p, binfmt_dir) for p in foreign}
    missing = [p for p in foreign if force or before[p].status != "ok"]
    already = [str(p) for p in foreign if p not in missing]
    if not missing:
        return QemuResult(image=image, installed=[], already=already, checks=list(before.values()))
    archs = ",".join(dict.fromkeys(p.arch for p in missing))
    try:
        result = runner.run(
            "run", "--privileged", "--rm", image, "--install", archs, mutating=True, timeout=600
        )
    except CommandFailed as exc:
        raise exc.restated(
            f"the emulator installer {image} did not run (exit code {exc.exit_code}); "
            "is the image reachable? --binfmt-image picks a mirror"
        ) from None
    if result.dry_run:
        return QemuResult(
            image=image, installed=[], already=already, checks=list(before.values()), dry_run=True
        )
    # The binfmt image exits 0 even when a registration fails: trust only binfmt_misc itself.
    after = [emulator_check(p, binfmt_dir) for p in foreign]
    failed = [c for c in after if c.status != "ok"]
    if failed:
        said = [
            line
            for line in (result.stdout + result.stderr).splitlines()
            if "cannot" in line or "error" in line.lower() or "installing" in line
        ]
        raise BuildxpyError(
            "emulators still missing after `qemu install`: "
            + "; ".join(f"{c.platform}: {c.detail}" for c in failed),
            details=said[-8:],
        )
    return QemuResult(
        image=image, installed=[str(p) for p in missing], already=already, checks=after
    )
