"""The runner: its logic through the fake seam, and its process handling with real children
(the Python interpreter stands in for the docker binary, so these need no engine)."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from buildxpy import log, redact
from buildxpy.docker.runner import Completed, Runner, output_prefix
from buildxpy.errors import CommandFailed, CommandTimeout, DockerNotFound
from tests.fakes import FakeRunner


def test_captured_result(fake: FakeRunner) -> None:
    fake.on("buildx", "ls", stdout='{"Name":"default"}\n')
    result = fake.run("buildx", "ls", "--format", "json")
    assert result.ok
    assert result.stdout == '{"Name":"default"}\n'
    assert fake.args_list() == [["buildx", "ls", "--format", "json"]]
    assert fake.calls[0].stream is False


def test_failure_raises_with_redacted_argv_and_stderr_tail(fake: FakeRunner) -> None:
    redact.add_secret("tok-123456")
    fake.on("build", stderr="step 1\n\nERROR: bad tok-123456\n", exit_code=17)
    with pytest.raises(CommandFailed) as info:
        fake.run("build", "--build-arg", "X=tok-123456")
    exc = info.value
    assert exc.exit_code == 17
    assert exc.argv == ["docker", "build", "--build-arg", "X=***"]
    assert exc.stderr_tail == ["step 1", "ERROR: bad ***"]
    assert str(exc) == "`docker build --build-arg` failed with exit code 17"


def test_check_false_returns_the_failure(fake: FakeRunner) -> None:
    fake.on("inspect", exit_code=1, stderr="no such object")
    result = fake.run("inspect", "x", check=False)
    assert result.exit_code == 1
    assert result.stderr_tail == ["no such object"]


def test_dry_run_prints_mutating_commands_and_runs_none(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = FakeRunner(dry_run=True)
    redact.add_secret("s3cret-value")
    fake.run("buildx", "ls")  # read-only: runs
    result = fake.run(
        "buildx", "create", "--name", "a b", "--driver-opt", "x=s3cret-value", mutating=True
    )
    assert result.dry_run
    assert fake.args_list() == [["buildx", "ls"]]
    assert capsys.readouterr().out == "docker buildx create --name 'a b' --driver-opt 'x=***'\n"


def test_each_command_is_logged_with_redacted_argv_exit_code_and_duration(fake: FakeRunner) -> None:
    redact.add_secret("hunter2hunter2")
    with capture_logs() as logs:
        fake.run("login", "--password", "hunter2hunter2", mutating=True)
        fake.run("version")
    assert [entry["log_level"] for entry in logs] == ["info", "debug"]
    first = logs[0]
    assert first["event"] == "docker"
    assert first["argv"] == ["docker", "login", "--password", "***"]
    assert first["exit_code"] == 0
    assert isinstance(first["duration_s"], float)
    assert "hunter2hunter2" not in repr(logs)


def test_environment_is_merged_per_call() -> None:
    fake = FakeRunner(env={"DOCKER_CONFIG": "/cfg"})
    fake.run("version", env={"DOCKER_HOST": "unix:///x.sock"})
    assert fake.calls[0].env == {"DOCKER_CONFIG": "/cfg", "DOCKER_HOST": "unix:///x.sock"}


def test_input_reaches_the_seam(fake: FakeRunner) -> None:
    fake.run("login", "--password-stdin", mutating=True, input="pw\n")
    assert fake.calls[0].input == "pw\n"


# --- real children -------------------------------------------------------------------------


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "child.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


def python_runner() -> Runner:
    return Runner(docker=sys.executable)


def test_real_child_output_exit_code_and_input(tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        """
        import sys
        data = sys.stdin.read()
        print("got", data.strip())
        print("warning: on stderr", file=sys.stderr)
        sys.exit(3)
        """,
    )
    result = python_runner().run(script, input="hello\n", check=False)
    assert result.exit_code == 3
    assert result.stdout == "got hello\n"
    assert result.stderr_tail == ["warning: on stderr"]


def test_real_child_failure_text(tmp_path: Path) -> None:
    script = _script(
        tmp_path, "import sys\nprint('ERROR: it broke', file=sys.stderr)\nsys.exit(1)\n"
    )
    with pytest.raises(CommandFailed) as info:
        python_runner().run(script)
    assert info.value.exit_code == 1
    assert info.value.stderr_tail == ["ERROR: it broke"]


def test_streamed_output_goes_to_stderr_and_keeps_a_tail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    redact.add_secret("streamed-secret")
    script = _script(
        tmp_path,
        """
        import sys
        print("progress 1", file=sys.stderr, flush=True)
        print("stdout line streamed-secret", flush=True)
        print("ERROR: failed at step 2", file=sys.stderr, flush=True)
        sys.exit(1)
        """,
    )
    result = python_runner().stream(script, mutating=False, check=False)
    out, err = capsys.readouterr()
    assert out == ""  # stdout carries results only
    assert "progress 1" in err
    assert "stdout line ***" in err
    assert "streamed-secret" not in err
    assert result.stderr_tail == ["progress 1", "ERROR: failed at step 2"]


def test_missing_program_is_docker_not_found() -> None:
    with pytest.raises(DockerNotFound, match="install Docker"):
        Runner(docker="definitely-not-docker-xyz").run("version")


def test_timeout_stops_the_child(tmp_path: Path) -> None:
    marker = tmp_path / "alive"
    script = _script(
        tmp_path,
        f"""
        import time, pathlib
        pathlib.Path({str(marker)!r}).write_text("x")
        time.sleep(60)
        """,
    )
    started = time.monotonic()
    with pytest.raises(CommandTimeout, match=r"timed out after 0\.5s"):
        python_runner().run(script, timeout=0.5)
    assert time.monotonic() - started < 15


def test_interrupt_reaches_the_child_process_group(tmp_path: Path) -> None:
    """Ctrl-C in buildxpy: the child and its own children get SIGINT, and the interrupt goes on."""
    ready = tmp_path / "ready"
    got = tmp_path / "got-sigint"
    grandchild_got = tmp_path / "grandchild-got-sigint"
    script = _script(
        tmp_path,
        f"""
        import pathlib, signal, subprocess, sys, time
        gc = subprocess.Popen([sys.executable, "-c",
            "import pathlib, signal, time\\n"
            "def h(*a):\\n"
            "    pathlib.Path({str(grandchild_got)!r}).write_text('x'); raise SystemExit(0)\\n"
            "signal.signal(signal.SIGINT, h)\\n"
            "time.sleep(60)\\n"])
        def handler(signum, frame):
            pathlib.Path({str(got)!r}).write_text("x")
            gc.wait(10)
            sys.exit(130)
        signal.signal(signal.SIGINT, handler)
        time.sleep(0.3)
        pathlib.Path({str(ready)!r}).write_text("x")
        time.sleep(60)
        """,
    )

    def interrupt_when_ready() -> None:
        deadline = time.monotonic() + 20
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_when_ready, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        python_runner().run(script)
    assert got.exists()
    assert grandchild_got.exists()
    assert time.monotonic() - started < 20


def test_completed_defaults() -> None:
    assert Completed(0).stderr_tail == ()


def test_streamed_child_gets_the_real_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal buildx must see a TTY, so its own progress display reaches the user."""
    import pty

    leader, follower = pty.openpty()
    report = tmp_path / "isatty"
    script = _script(
        tmp_path,
        f"""
        import os, pathlib
        pathlib.Path({str(report)!r}).write_text(f"{{os.isatty(1)}} {{os.isatty(2)}}")
        """,
    )
    with os.fdopen(follower, "w") as terminal:
        monkeypatch.setattr(sys, "stderr", terminal)
        result = python_runner().stream(script, mutating=False)
    os.close(leader)
    assert result.ok
    assert report.read_text() == "True True"


def test_while_running_calls_back_once_after_the_child_started(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    script = _script(
        tmp_path,
        f"""
        import pathlib, time
        pathlib.Path({str(marker)!r}).write_text("x")
        time.sleep(0.3)
        """,
    )
    runner = python_runner()
    seen: list[tuple[bool, float]] = []

    def callback() -> None:
        deadline = time.monotonic() + 10
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append((marker.exists(), time.monotonic()))

    runner.while_running(callback)
    started = time.monotonic()
    runner.run(script)
    ended = time.monotonic()
    runner.run(script)
    assert len(seen) == 1  # once, not again for the second command
    assert seen[0][0]  # the child was running
    assert seen[0][1] - started < ended - started  # called before the wait was over


def test_a_failing_callback_stops_the_child_it_ran_beside(tmp_path: Path) -> None:
    marker = tmp_path / "finished"
    script = _script(
        tmp_path,
        f"""
        import pathlib, time
        time.sleep(5)
        pathlib.Path({str(marker)!r}).write_text("x")
        """,
    )
    runner = python_runner()

    def broken() -> None:
        raise RuntimeError("broken callback")

    runner.while_running(broken)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="broken callback"):
        runner.run(script)
    assert time.monotonic() - started < 4
    time.sleep(0.2)
    assert not marker.exists()


def test_while_running_under_dry_run_runs_once_the_command_is_printed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    dry = FakeRunner(dry_run=True)
    seen: list[str] = []
    dry.while_running(lambda: seen.append(capsys.readouterr().out))
    dry.stream("buildx", "build", ".")
    assert seen == ["docker buildx build .\n"]
    dry.run("version")
    assert len(seen) == 1


class _SlowStream(io.StringIO):
    """A stream that gives the other threads a turn in the middle of every write, as a pipe's
    buffer does when it fills."""

    def write(self, text: str) -> int:
        for start in range(0, len(text), 7):
            super().write(text[start : start + 7])
            time.sleep(0)
        return len(text)


def test_log_lines_and_streamed_lines_never_split_each_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = _script(
        tmp_path,
        """
        import sys
        for i in range(300):
            print(f"child line {i:03d} " + "x" * 60, file=sys.stderr)
        """,
    )
    stream = _SlowStream()
    monkeypatch.setattr(sys, "stderr", stream)
    log.configure("json", 0, lazy=False)
    done = threading.Event()

    def keep_logging() -> None:
        while not done.is_set():
            log.get().info("beside", detail="y" * 60)

    logger = threading.Thread(target=keep_logging)
    logger.start()
    try:
        with output_prefix("[one] "):
            python_runner().stream(script, mutating=False)
    finally:
        done.set()
        logger.join()
    lines = stream.getvalue().splitlines()
    children = [line for line in lines if line.startswith("[one] child line")]
    assert len(children) == 300
    for line in lines:
        if line.startswith("[one] "):
            assert re.fullmatch(r"\[one\] child line \d{3} x{60}", line), line
        else:
            assert json.loads(line)["event"] in ("beside", "docker"), line


def test_a_call_with_a_timeout_returns_all_of_its_output(tmp_path: Path) -> None:
    # The last bytes come just before the exit, as docker's do: a wait that returns once the
    # child has exited, before they are read, loses them (about one call in a hundred).
    script = _script(
        tmp_path,
        """
        import os
        os.write(1, b"{" + b"x" * 3000)
        os.write(1, b"}")
        os._exit(0)
        """,
    )
    runner = python_runner()
    for _ in range(150):
        assert runner.run(script, timeout=30).stdout.endswith("}")
