"""Run a student's submission in a child process the grader can always outlive.

The parent (:func:`run`) starts ``python -m kerascnn.exercises.sandbox`` in its own process group,
in an empty temporary working folder, and reads one JSON line per event from a private pipe:
``ready`` (the checks), ``loaded``, then ``start``/``result`` per check, ``done``. Whatever the
student's code does, every check ends as a result:

- a check running past the per-check limit (or a file whose top level does) is killed and fails
  with "time limit of N s reached"; the checks before it keep their points and the ones after it
  run in a fresh child, as long as the whole submission's limit allows;
- a crash (segfault, abort, ``os._exit``) fails the running check with what happened;
- ``sys.exit`` fails the check like an exception (:mod:`.guard`);
- output is drained continuously and the first :data:`OUTPUT_KEPT` bytes are kept for the report;
  printing more than :data:`OUTPUT_LIMIT` characters makes ``print`` raise in the student's code
  (the check fails saying so), and writes around ``sys.stdout`` past four times that kill the child;
- memory: ``RLIMIT_DATA`` (heap and private writable mappings). ``RLIMIT_AS`` is not used: TensorFlow
  reserves address space in proportion to the machine's cores (2.7 GB virtual for 0.7 GB resident on
  2 cores), while its data segment stays near 0.5 GB, so RLIMIT_DATA limits what is really used.
  Over the limit, NumPy raises MemoryError (a failed check saying so); native code may abort;
- no network: an audit hook refuses to create IPv4/IPv6 sockets or resolve names, in Python code
  (TensorFlow's native code is not covered);
- Keras/TensorFlow, when the checks or the submission use them, are imported before the clock
  starts (the import is not the student's time) with TensorFlow's start-up banner swallowed;
- kerascnn's own files (the reference solutions) cannot be opened while student code runs, and
  kerascnn cannot be imported (:mod:`.guard`); core dumps are off, files are capped at
  :data:`FILE_LIMIT` bytes.

Events carry a random token given on stdin, so a student who writes to the pipe cannot forge a result.
"""

from __future__ import annotations

import io
import json
import os
import resource
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import kerascnn
from kerascnn.exercises import guard
from kerascnn.exercises.checking import CheckResult

OUTPUT_KEPT = 10_000
OUTPUT_LIMIT = 1_000_000
FILE_LIMIT = 64 * 2**20
DEFAULT_MEMORY_LIMIT = 4 * 2**30
_NATIVE_OUTPUT_LIMIT = 4 * OUTPUT_LIMIT  # writes that bypass sys.stdout (os.write, C code): the child is killed
STARTUP_LIMIT = 120.0  # seconds for Python + NumPy + checks.py to start (not the student's time)
_PACKAGE_ROOT = str(Path(kerascnn.__file__).resolve().parent)


# ---------------------------------------------------------------------------------------------
# Parent side


class _Output:
    """Drains the child's stdout+stderr on a thread: keeps the start, counts the rest."""

    def __init__(self, fd: int, kept: bytearray):
        self.kept, self.total = kept, 0
        self.thread = threading.Thread(target=self._drain, args=(fd,), daemon=True)
        self.thread.start()

    def _drain(self, fd: int) -> None:
        with os.fdopen(fd, "rb", buffering=0) as stream:
            while chunk := stream.read(65536):
                self.total += len(chunk)
                room = OUTPUT_KEPT - len(self.kept)
                if room > 0:
                    self.kept.extend(chunk[:room])


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        number = -returncode
        name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else f"signal {number}"
        why = {
            signal.SIGSEGV: "a segmentation fault, e.g. from ctypes or a crash in native code",
            signal.SIGBUS: "a bus error in native code",
            signal.SIGABRT: "an abort, e.g. native code ran out of memory",
            signal.SIGFPE: "an arithmetic fault in native code",
            signal.SIGXFSZ: f"a file larger than {FILE_LIMIT // 2**20} MiB was written",
            signal.SIGKILL: "it was killed, perhaps by the system for using too much memory",
        }.get(number, "")
        return f"it crashed ({name}{': ' + why if why else ''})"
    return (f"your code ended the process with exit status {returncode} (os._exit or a crash): "
            "graded code must return its result, not end the program")


class _Child:
    """One sandbox process and the events read from it."""

    def __init__(self, config: dict, workdir: str, kept: bytearray):
        self.token = secrets.token_hex(16)
        read_end, write_end = os.pipe()
        out_read, out_write = os.pipe()
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0", PYTHONFAULTHANDLER="1",
                   PYTHONPATH=os.pathsep.join([str(Path(_PACKAGE_ROOT).parent),
                                               *filter(None, [os.environ.get("PYTHONPATH")])]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kerascnn.exercises.sandbox"], stdin=subprocess.PIPE, stdout=out_write,
            stderr=out_write, pass_fds=(write_end,), cwd=workdir, env=env, start_new_session=True)
        os.close(write_end)
        os.close(out_write)
        self.channel, self.buffer, self.eof = read_end, b"", False
        self.output = _Output(out_read, kept)
        self.process.stdin.write((json.dumps({**config, "channel": write_end, "token": self.token}) + "\n").encode())
        self.process.stdin.close()

    def events(self, timeout: float) -> list[dict]:
        """Events that arrived within ``timeout`` seconds (forged or garbled lines are dropped)."""
        if self.eof or not select.select([self.channel], [], [], timeout)[0]:
            return []
        chunk = os.read(self.channel, 65536)
        if not chunk:
            self.eof = True
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        found = []
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.pop("token", None) == self.token:
                found.append(event)
        return found

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def close(self) -> int:
        self.kill()  # the group: grandchildren the student may have started
        returncode = self.process.wait()
        os.close(self.channel)
        self.output.thread.join(timeout=2)
        return returncode


def run(exercise, path: str | Path, include_hidden: bool = True, time_limit: float | None = None,
        check_time_limit: float | None = None, memory_limit: int | None = None) -> tuple[list[CheckResult], str]:
    """Grade ``path`` against ``exercise`` in sandboxed children; returns (results in check order, output)."""
    check_limit = float(check_time_limit or exercise.check_time_limit)
    budget = float(time_limit or exercise.time_limit)  # seconds of student time (loading + checks) in all
    config = {"exercise": exercise.name, "path": str(Path(path).resolve()), "include_hidden": include_hidden,
              "memory_limit": int(memory_limit or DEFAULT_MEMORY_LIMIT), "skip": []}
    checks: list[dict] | None = None
    results: dict[str, CheckResult] = {}
    kept = bytearray()
    used = 0.0
    with tempfile.TemporaryDirectory(prefix="kerascnn-grade-") as workdir:
        while checks is None or len(results) < len(checks):
            config["skip"], decided = list(results), len(results)
            checks, used = _run_child(_Child(config, workdir, kept), checks, results, check_limit, budget, used)
            if len(results) == decided:  # a child that decided nothing: do not start another
                for check in checks:
                    results.setdefault(check["name"], _failed(check, "not run: the grading process ended early"))
    order = [c["name"] for c in checks]
    return [results[name] for name in order], kept.decode("utf-8", errors="replace")


def _failed(check: dict, message: str) -> CheckResult:
    return CheckResult(check["name"], False, 0.0, float(check["points"]), message, bool(check["hidden"]))


def _run_child(child: _Child, checks, results: dict, check_limit: float, budget: float, used: float):
    """Follow one child until it finishes, dies or is killed; record results; return (checks, time used)."""
    phase, current, started = "startup", None, time.monotonic()
    problem = None  # why the child was stopped, if it was
    try:
        while True:
            for event in child.events(0.1):
                kind = event.get("event")
                now = time.monotonic()
                if kind == "ready":
                    checks = checks or event["checks"]
                    phase, started = "loading", now
                elif kind == "loaded":
                    used += now - started
                    phase, started = "checks", now
                elif kind == "load_failed":
                    for check in checks:
                        results.setdefault(check["name"], _failed(check, event["message"]))
                    return checks, used
                elif kind == "start":
                    current = next((c for c in checks if c["name"] == event.get("name")), None)
                    started = now
                elif kind == "result" and current is not None and event.get("name") == current["name"]:
                    used += now - started
                    results[current["name"]] = CheckResult(
                        current["name"], bool(event["passed"]), float(event["points"]), float(current["points"]),
                        str(event["message"]), bool(current["hidden"]))
                    current, started = None, now
                elif kind == "done":
                    return checks, used
            elapsed = time.monotonic() - started
            if child.eof:
                problem = ("crash", None)
            elif child.output.total > _NATIVE_OUTPUT_LIMIT:
                problem = ("output", None)
            elif phase == "startup" and elapsed > STARTUP_LIMIT:
                problem = ("startup", None)
            elif phase != "startup" and (current is not None or phase == "loading"):
                if elapsed > check_limit:
                    problem = ("time", check_limit)
                elif used + elapsed > budget:
                    problem = ("budget", budget)
            if problem:
                break
    finally:
        returncode = child.close()
    if phase == "startup":
        raise RuntimeError(f"the grading sandbox did not start ({problem[0]}, exit status {returncode}): "
                           f"{bytes(child.output.kept[-500:]).decode(errors='replace').strip()}")
    used += time.monotonic() - started if (current is not None or phase == "loading") else 0.0
    message = _problem_message(problem, returncode, loading=(phase == "loading"))
    undecided = [c for c in checks if c["name"] not in results]
    if phase == "loading":
        for check in undecided:
            results[check["name"]] = _failed(check, message)
    elif current is not None:
        results[current["name"]] = _failed(current, message)
    if used >= budget:
        for check in checks:
            results.setdefault(check["name"], _failed(
                check, f"not run: the submission's time limit of {budget:g} s was reached by earlier checks"))
    return checks, used


def _problem_message(problem, returncode: int, loading: bool) -> str:
    kind, limit = problem
    if kind in ("time", "budget") and loading:
        return (f"your file did not finish loading within the time limit of {limit:g} s: is there an infinite "
                "loop or a long computation at the top level? Keep demo code under `if __name__ == \"__main__\":`")
    if kind == "time":
        return (f"time limit of {limit:g} s reached: is there an infinite loop, or far more work than the "
                "exercise needs?")
    if kind == "budget":
        return f"the submission's time limit of {limit:g} s was reached during this check"
    if kind == "output":
        return (f"your code wrote more than {_NATIVE_OUTPUT_LIMIT // 1_000_000} MB of output: remove prints "
                f"from loops (the first {OUTPUT_KEPT // 1000} kB of the output are in the report)")
    where = "while loading your file" if loading else "during this check"
    return f"the grading process died {where}: {_describe_exit(returncode)}"


# ---------------------------------------------------------------------------------------------
# Child side


class OutputLimitError(RuntimeError):
    """The student's code printed more than :data:`OUTPUT_LIMIT` characters."""


class _CappedStream(io.TextIOBase):
    """sys.stdout/sys.stderr of the child: past OUTPUT_LIMIT characters, print raises in the student's code."""

    def __init__(self, stream):
        self.stream, self.written = stream, 0

    def write(self, text: str) -> int:
        self.written += len(text)
        if self.written > OUTPUT_LIMIT:
            self.written = OUTPUT_LIMIT  # so that the message itself can still be printed
            raise OutputLimitError(f"printed more than {OUTPUT_LIMIT // 1_000_000} MB: remove prints from loops "
                                   f"(the first {OUTPUT_KEPT // 1000} kB of the output are in the report)")
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def fileno(self) -> int:
        return self.stream.fileno()

    def writable(self) -> bool:
        return True


def _limit_resources(memory_limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_DATA, (memory_limit, memory_limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))


def _audit_hook(event: str, args: tuple) -> None:
    """No network at all; no reading kerascnn's files while student code runs."""
    if event.startswith("socket."):
        import socket

        if event == "socket.__new__" and args[1] in (socket.AF_INET, socket.AF_INET6):
            raise PermissionError("network access is disabled while grading")
        if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
                     "socket.gethostbyaddr", "socket.connect"):
            raise PermissionError("network access is disabled while grading")
    elif event == "open" and guard.student_code_running():
        name = args[0]
        if isinstance(name, bytes):
            name = os.fsdecode(name)
        if isinstance(name, str) and os.path.realpath(name).startswith(_PACKAGE_ROOT + os.sep):
            raise PermissionError(f"reading kerascnn's files is not allowed in an exercise submission: {name}")


def _import_keras_quietly() -> None:
    from kerascnn.core.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    import keras  # noqa: F401


def _child_main() -> None:
    config = json.loads(sys.stdin.readline())
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    channel = os.fdopen(config["channel"], "w", buffering=1)
    token = config["token"]

    def send(**event) -> None:
        channel.write(json.dumps({"token": token, **event}) + "\n")
        channel.flush()

    from kerascnn.exercises import find, uses_keras
    from kerascnn.exercises import submission as submissions
    from kerascnn.exercises.checking import checks_of, run_check
    from kerascnn.exercises.grader import LoadFailed, load_student

    _limit_resources(config["memory_limit"])
    guard.set_memory_note(f" (the grader's memory limit is {config['memory_limit'] / 2**30:.3g} GiB)")
    exercise = find(config["exercise"])
    checks = checks_of(exercise.load_checks(), config["include_hidden"])
    source = submissions.read(config["path"])
    code = submissions.compile_source(source)
    if exercise.uses_keras or uses_keras(source.text):
        _import_keras_quietly()  # before the clock starts, and without TensorFlow's banner in the output
    sys.addaudithook(_audit_hook)
    sys.argv = [config["path"]]
    sys.stdout, sys.stderr = _CappedStream(sys.stdout), _CappedStream(sys.stderr)
    send(event="ready", checks=[{"name": c.name, "points": c.points, "hidden": c.hidden} for c in checks])
    try:
        student = load_student(source, code)
    except LoadFailed as failure:
        send(event="load_failed", message=str(failure))
        os._exit(0)
    send(event="loaded")
    for item in checks:
        if item.name in config["skip"]:
            continue
        send(event="start", name=item.name)
        result = run_check(item, student)
        send(event="result", name=item.name, passed=result.passed, points=result.points, message=result.message)
    send(event="done")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip the student's atexit handlers and TensorFlow's slow teardown


if __name__ == "__main__":
    _child_main()
