"""Where the command line writes: messages and results on standard output, progress and errors on standard error.

On a terminal (standard error is a TTY and ``--json`` is off) a one-line spinner shows that work is going on and a
render's progress redraws as a bar; piped, progress is plain lines and nothing is redrawn. With ``--json`` standard
output carries one JSON object per line (a message, a result, or ``{"error": {...}}``) and standard error only the
one-line error.

Drawn with the standard library, not rich or click. What is drawn is one status line that standard output's
messages interleave with: any message first clears the line, then the line is drawn again. rich's ``Live`` can only
do that for output it prints itself (or that goes through the ``sys.stdout`` it redirects), and ``main`` is given
its streams, so the clearing and the lock around it would be ours anyway; what rich would add is the frames and
the bar, about 20 lines here. It would also add four packages (rich, markdown-it-py, mdurl, pygments) to a
client meant to be installed anywhere, and about 35-45 ms of imports to every run on a terminal (``python -X
importtime``, rich 15). click draws a progress bar over an iterable of known length and no spinner. The spinner
thread only animates: every change of the line is drawn by whoever makes it, so tests see it without timing.
"""

from __future__ import annotations

import contextlib
import json
import threading
import typing

from .._models import Message, MessageKind

__all__ = ["PROG", "Console", "bar"]

PROG = "nemo-contract"


def bar(message: Message) -> str:
    """A render's progress as a 20-cell bar (the message's own text when it has no percentage)."""
    if message.progress is None:
        return message.text
    done = max(0, min(20, message.progress // 5))
    return f"Rendering [{'█' * done}{'░' * (20 - done)}] {message.progress}%"


class Console:
    """The two output streams of one run, and the spinner line on a terminal."""

    _FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

    def __init__(self, *, as_json: bool, stdout: typing.TextIO, stderr: typing.TextIO) -> None:
        self.as_json = as_json
        self.stdout, self.stderr = stdout, stderr
        self.live = not as_json and stderr.isatty()
        self._lock = threading.Lock()
        self._label: str | None = None
        self._frame = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the spinner line --------------------------------------------------------------------------------------

    def _draw(self) -> None:
        """One frame of the spinner line (the caller holds the lock)."""
        if self._label is not None:
            self.stderr.write(f"\r\x1b[2K{self._FRAMES[self._frame % len(self._FRAMES)]} {self._label}")
            self.stderr.flush()

    def _spin(self) -> None:
        """Animation only: every change of the line is drawn at once by whoever makes it."""
        while not self._stop.wait(0.1):
            with self._lock:
                self._frame += 1
                self._draw()

    def _clear(self) -> None:
        if self.live and self._label is not None:
            self.stderr.write("\r\x1b[2K")
            self.stderr.flush()

    @contextlib.contextmanager
    def busy(self, label: str = "Working...") -> typing.Iterator[None]:
        """Show the spinner (on a terminal) while the block runs."""
        if not self.live:
            yield
            return
        with self._lock:
            self._label = label
            self._draw()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._spin, name="nemo-contract-spinner", daemon=True)
            self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._clear()
                self._label = None

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
            self._thread = None
        with self._lock:
            self._clear()
            self._label = None

    # -- writing -----------------------------------------------------------------------------------------------

    def message(self, message: Message) -> None:
        """A message of the client: progress on standard error (the bar on a terminal), the rest on standard output."""
        with self._lock:
            if self.as_json:
                print(json.dumps(message.to_dict(), ensure_ascii=False), file=self.stdout, flush=True)
            elif message.kind is MessageKind.PROGRESS:
                if self.live and self._label is not None:
                    self._label = bar(message)
                    self._draw()
                else:
                    print(message.text, file=self.stderr, flush=True)
            else:
                self._clear()
                print(message.text, file=self.stdout, flush=True)

    def aside(self, message: Message) -> None:
        """A message of a command that prints a result: shown to people, left out of --json output."""
        if not self.as_json:
            self.message(message)

    def result(self, data: typing.Any, text: str) -> None:
        """A command's result: ``data`` as one JSON line with --json, else ``text``."""
        with self._lock:
            self._clear()
            if self.as_json:
                print(json.dumps(data, ensure_ascii=False), file=self.stdout, flush=True)
            else:
                print(text, file=self.stdout, flush=True)

    def note(self, text: str) -> None:
        """A line for people on standard error (a prompt's hint, the end of an interactive chat)."""
        with self._lock:
            self._clear()
            print(text, file=self.stderr, flush=True)

    def warning(self, text: str) -> None:
        with self._lock:
            self._clear()
            print(f"{PROG}: warning: {' '.join(text.split())}", file=self.stderr, flush=True)
            self._draw()

    def error(self, text: str, data: dict[str, typing.Any] | None = None) -> None:
        """One line on standard error; with --json, ``{"error": data}`` on standard output too."""
        line = " ".join(text.split())
        with self._lock:
            self._clear()
            if self.as_json and data is not None:
                print(json.dumps(dict(error=data), ensure_ascii=False), file=self.stdout, flush=True)
            print(f"{PROG}: error: {line}", file=self.stderr, flush=True)
