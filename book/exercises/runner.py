"""Running the learner's code safely: a time limit that really stops it, captured prints, Ctrl-C.

Every call of learner code a checker makes (the function itself, and any probing a checker does
to explain a failure) goes through `call_learner`, which

* runs the code in the calling thread, so the notebook's stop button (a KeyboardInterrupt)
  interrupts it, and a KeyboardInterrupt is re-raised: the stop button stops the whole check;
* enforces a time limit by raising a private exception *inside* the learner's code, so an endless
  loop is stopped, its memory is freed as the exception unwinds, and nothing keeps running in the
  background;
* captures what the code prints (stdout and stderr) into a bounded buffer, so a print in a loop
  can't flood the notebook: the checker shows the first lines and says how much it cut;
* catches every other exception, SystemExit included, as a result of the call;
* optionally measures the peak memory the call allocated (tracemalloc), a deterministic way to
  tell an O(n) algorithm from one that builds an n × n matrix, whatever the machine's load.

How the time limit works. In the main thread (where Jupyter runs cells) on Linux and macOS, a
timer (`signal.setitimer(ITIMER_REAL)`) delivers SIGALRM, whose handler raises the private
exception; the previous handler and timer are restored afterwards. Elsewhere (another thread,
or Windows, which has no SIGALRM) a watchdog thread asks CPython to raise the exception in the
calling thread (`PyThreadState_SetAsyncExc`); that works for Python code but cannot interrupt a
blocking call such as time.sleep, which is stopped only when it returns. If neither is available,
the code runs without a limit.

What no limit can do: Python raises exceptions only between bytecodes, so one long C call that
holds the GIL, e.g. sum(range(3_000_000_000)), a huge NumPy operation, big-integer arithmetic or
a regular expression that backtracks, cannot be interrupted, neither by the limit nor by the stop
button. The limit fires as soon as that call returns, and the check then reports "too slow".
"""

from __future__ import annotations

import ctypes
import signal
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DEFAULT_TIME_LIMIT = 10.0
# Every check's limits are multiplied by this. The grader (book.grade.in_kernel) raises it: a
# class is graded on a machine busy with other kernels, where a limit is only a safety net
# against endless loops, and a correct function must not fail for the machine's load.
LIMIT_SCALE = 1.0
# The interval at which the limit fires again if the learner's code catches it (a bare `except:`
# in a loop): the call is stopped as soon as it stops catching.
_REFIRE = 0.05

# What one check keeps of the learner's prints: enough to debug with, never megabytes.
MAX_KEPT_LINES = 8
MAX_KEPT_CHARS = 800


class _TimeLimitReached(BaseException):
    """Raised inside the learner's code when its time is up.

    A BaseException, so that the learner's `except Exception:` does not swallow it.
    """


@dataclass
class Printed:
    """What the learner's code printed: the first lines, and how much there was in total."""

    head: str = ""
    n_chars: int = 0
    n_newlines: int = 0
    ends_with_newline: bool = True

    def __bool__(self) -> bool:
        """True when something was printed."""
        return self.n_chars > 0

    @property
    def n_lines(self) -> int:
        """Lines printed; a last line without a newline counts too."""
        return self.n_newlines + (0 if self.ends_with_newline else 1)

    def add(self, text: str) -> None:
        """Count text, and keep it while the head is short."""
        if not text:
            return
        self.n_chars += len(text)
        self.n_newlines += text.count("\n")
        self.ends_with_newline = text.endswith("\n")
        room = MAX_KEPT_CHARS - len(self.head)
        if room > 0 and self.head.count("\n") < MAX_KEPT_LINES:
            self.head += text[:room]

    def lines(self) -> tuple[list[str], str]:
        """The first lines printed, and a note on what was cut ("" when nothing was)."""
        kept = self.head.split("\n")[:MAX_KEPT_LINES]
        if kept and kept[-1] == "":
            kept.pop()
        shown = sum(len(line) + 1 for line in kept)
        if shown >= self.n_chars and len(kept) == self.n_lines:
            return kept, ""
        return kept, (
            f"… cut: in all it printed {_count(self.n_lines, 'line')} "
            f"({_count(self.n_chars, 'character')})"
        )


def _count(n: int, noun: str) -> str:
    """'1 line', '1,000 lines'."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


class _CaptureStream:
    """A write-only text stream that hands everything written to a `Printed`."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, printed: Printed) -> None:
        self._printed = printed

    def write(self, text: str) -> int:
        """Record text; the learner's code sees it as written."""
        self._printed.add(str(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        """Record each line."""
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Nothing to flush."""

    def isatty(self) -> bool:
        """Not a terminal (some libraries ask)."""
        return False

    def writable(self) -> bool:
        """A stream that can be written."""
        return True


@dataclass
class Call:
    """What happened when learner code was called once."""

    finished: bool  # False: stopped at the time limit
    value: Any = None
    error: BaseException | None = None
    elapsed: float = 0.0
    peak_memory: int | None = None  # bytes, when measured
    printed: Printed = field(default_factory=Printed)


def call_learner(
    fn: Callable[..., Any],
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    *,
    limit: float | None = DEFAULT_TIME_LIMIT,
    measure_memory: bool = False,
) -> Call:
    """Call learner code under a time limit, with prints captured; only KeyboardInterrupt escapes.

    `limit` is in seconds (None: no limit). With `measure_memory`, the call's peak allocation
    is measured with tracemalloc (which slows Python code down, so only when asked).
    """
    kwargs = kwargs or {}
    call = Call(finished=True)
    stream = _CaptureStream(call.printed)
    guard = _Deadline(limit)
    memory = _PeakMemory() if measure_memory else None
    saved = sys.stdout, sys.stderr
    interrupted = False
    start = time.perf_counter()
    try:
        sys.stdout = sys.stderr = stream  # type: ignore[assignment]
        try:
            if memory is not None:
                memory.start()
            guard.start()
            try:
                # Overflow warnings would clutter the notebook; the checker reports nan/inf.
                with np.errstate(all="ignore"):
                    call.value = fn(*args, **kwargs)
            finally:
                _disarm(guard)
        except _TimeLimitReached:
            call.finished = False
        except KeyboardInterrupt:
            interrupted = True
            raise  # the stop button (or the learner) asked to stop: stop the whole check
        except BaseException as exc:  # learner code can raise anything, even sys.exit()
            call.error = exc
    except _TimeLimitReached:  # delivered while the call was ending, before the limit was off
        call.finished, call.value = False, None
    finally:
        _disarm(guard)  # from here on, nothing can interrupt the clean-up
        sys.stdout, sys.stderr = saved
        if memory is not None:
            call.peak_memory = memory.stop()
        if interrupted:
            _show_printed_on_interrupt(call.printed)
    call.elapsed = time.perf_counter() - start
    return call


def _disarm(guard: _Deadline) -> None:
    """Stop the limit, even if it fires while being stopped."""
    while True:
        try:
            guard.stop()
            return
        except _TimeLimitReached:
            continue


def _show_printed_on_interrupt(printed: Printed) -> None:
    """Before a KeyboardInterrupt reaches the notebook, show the start of what was printed."""
    if not printed:
        return
    lines, cut = printed.lines()
    for line in [*lines, *([cut] if cut else [])]:
        print(line)


def limit_mechanism() -> str | None:
    """How a time limit is enforced in this thread: "signal", "async" or None (not at all)."""
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
        return "signal"
    if sys.implementation.name == "cpython" and hasattr(ctypes, "pythonapi"):
        return "async"
    return None


class _Deadline:
    """Raises _TimeLimitReached in the calling thread once `limit` seconds have passed.

    start() arms it, stop() disarms it and restores what it replaced; stop() may be called more
    than once, and after it returns nothing more is raised.
    """

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.armed = False
        self.mechanism = limit_mechanism() if limit is not None else None
        self._old_handler: Any = None
        self._old_timer: tuple[float, float] = (0.0, 0.0)
        self._started = 0.0
        self._watchdog: threading.Thread | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._thread_id = threading.get_ident()
        self._sent = False  # has the watchdog asked CPython to raise in this thread?

    def start(self) -> None:
        """Arm the limit."""
        if self.mechanism is None or self.limit is None:
            return
        self._started = time.monotonic()
        self.armed = True
        if self.mechanism == "signal":
            self._old_handler = signal.signal(signal.SIGALRM, self._on_alarm)
            self._old_timer = signal.setitimer(signal.ITIMER_REAL, max(self.limit, 1e-6), _REFIRE)
        else:
            self._watchdog = threading.Thread(
                target=self._watch, name="exercise-time-limit", daemon=True
            )
            self._watchdog.start()

    def stop(self) -> None:
        """Disarm the limit and restore the previous SIGALRM handler and timer."""
        if not self.armed:
            return
        self.armed = False  # first: from here on the handler and the watchdog raise nothing
        if self.mechanism == "signal":
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old_handler)
            remaining, interval = self._old_timer
            if remaining > 0:  # someone else's timer was running: let it continue
                used = time.monotonic() - self._started
                signal.setitimer(signal.ITIMER_REAL, max(remaining - used, 1e-3), interval)
        else:
            with self._lock:
                self._done.set()
            if self._watchdog is not None:
                self._watchdog.join()
            if self._sent:
                self._drain()

    def _on_alarm(self, signum: int, frame: Any) -> None:
        if self.armed:
            raise _TimeLimitReached

    def _watch(self) -> None:
        assert self.limit is not None
        wait = self.limit
        while not self._done.wait(wait):
            with self._lock:
                if self._done.is_set():
                    return
                self._set_async(_TimeLimitReached)
                self._sent = True
            wait = _REFIRE

    def _set_async(self, exc: type[BaseException]) -> None:
        """Ask CPython to raise exc in the checked thread at its next bytecode."""
        target = ctypes.c_ulong(self._thread_id)
        ctypes.pythonapi.PyThreadState_SetAsyncExc(target, ctypes.py_object(exc))

    @staticmethod
    def _drain() -> None:
        """Let an exception sent but not yet raised be raised here (`_disarm` swallows it).

        Cancelling it instead (PyThreadState_SetAsyncExc(id, NULL)) leaves CPython 3.11 with an
        interpreter-wide "exception pending" flag that only raising one clears: from then on
        every thread takes the slow path at every loop and call, and under a profiler or a
        tracer (cProfile, line_profiler, pdb) the next function call never returns.
        """
        for _ in range(3):  # each backward jump checks for a pending exception
            pass


class _PeakMemory:
    """The peak of memory allocated between start() and stop(), as tracemalloc sees it.

    NumPy reports its array buffers to tracemalloc, so a (4, 4096, 4096) float64 matrix shows up
    as 512 MiB however fast the machine is. torch tensors are not reported.
    """

    def __init__(self) -> None:
        self._was_tracing = False
        self._base = 0

    def start(self) -> None:
        """Start measuring (or reset the peak, if tracemalloc was already running)."""
        self._was_tracing = tracemalloc.is_tracing()
        if not self._was_tracing:
            tracemalloc.start()
        tracemalloc.reset_peak()
        self._base = tracemalloc.get_traced_memory()[0]

    def stop(self) -> int:
        """Stop measuring; the peak allocation above the starting point, in bytes."""
        peak = tracemalloc.get_traced_memory()[1] - self._base
        if not self._was_tracing:
            tracemalloc.stop()
        return max(peak, 0)
