"""The emulator's files on disk: a folder of its own under the data directory, crash leftovers, and a size cap.

Everything the emulator writes (uploads, render outputs, generated media) goes under
``<data dir>/.nemo-mock/run-<random>/<epoch>/``, never elsewhere, so a reset or a stop removes only what the
emulator created even when ``--data-dir`` is a folder that holds other things (``uploads/`` of its own, say).

* A run folder belongs to one process, which holds an exclusive ``flock`` on its ``.lock`` file while it lives.
  At start-up every run folder whose lock is free is a leftover (the process crashed or was killed: partial
  uploads, ``.part`` files of unfinished renders, files nothing refers to any more) and is deleted. On systems
  without ``flock`` (Windows) leftovers are not swept.
* An epoch folder holds the files of one emulator state: a reset starts a new epoch and deletes the old one. An
  upload still arriving during the reset writes into the old epoch, and is refused and deleted when it ends.
* The bytes under the current epoch are counted as they are written; past ``max_bytes`` an upload is refused
  (``DiskFull``) while it streams, and a render or generated file is not written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pathlib
import shutil
import threading
import typing
import uuid
import weakref

__all__ = ["DEFAULT_MAX_DISK", "OWN_FOLDER", "Area", "Disk", "DiskFull", "size_text"]

#: The folder under the data directory that the emulator owns; nothing outside it is ever written or deleted.
OWN_FOLDER = ".nemo-mock"
DEFAULT_MAX_DISK = 2 * 1024**3
_RUN_PREFIX = "run-"
_LOCK = ".lock"


class DiskFull(OSError):
    """The emulator's files would pass the data directory's cap."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            errno.ENOSPC,
            f"The emulator's files have reached their cap of {size_text(max_bytes)} (the max_disk knob, "
            "--max-disk); reset the emulator or raise the cap.",
        )

    def __str__(self) -> str:
        return str(self.strerror)


def size_text(size: int) -> str:
    """``2 GiB``, ``500 MiB``, or a byte count when it is not a whole number of either."""
    for unit, name in ((1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    return f"{size} bytes"


class Area:
    """The files of one epoch: ``uploads/``, ``renders/``, ``generated/``, and the bytes they hold."""

    def __init__(self, disk: Disk, folder: pathlib.Path) -> None:
        self._disk = disk
        self.folder = folder
        self.uploads = folder / "uploads"
        self.renders = folder / "renders"
        self.generated = folder / "generated"
        self.used = 0
        self.alive = True
        self._write_lock = threading.Lock()
        for child in (self.uploads, self.renders, self.generated):
            child.mkdir(parents=True, exist_ok=True)

    def charge(self, size: int) -> None:
        """Count ``size`` more bytes, or raise DiskFull (counting nothing) when they would pass the cap.

        A dead area (its epoch was reset) counts nothing: its files are being deleted anyway.
        """
        with self._disk.lock:
            if not self.alive:
                return
            if self.used + size > self._disk.max_bytes:
                raise DiskFull(self._disk.max_bytes)
            self.used += size

    def release(self, size: int) -> None:
        with self._disk.lock:
            if self.alive:
                self.used = max(0, self.used - size)

    def has_room(self) -> bool:
        with self._disk.lock:
            return self.used < self._disk.max_bytes

    def ensure_file(self, path: pathlib.Path, make: typing.Callable[[pathlib.Path], object]) -> int:
        """The size of the cached file ``path`` of this area, written with ``make(path)`` when it is missing.

        For shared outputs (renders, generated media): one writer at a time, so a burst of requests writes a file
        once and counts it once. DiskFull when the cap is reached before, or passed by, the new file (which is
        then deleted). Call it from a worker thread: it blocks.
        """
        with self._write_lock:
            if path.is_file():
                return path.stat().st_size
            if not self.has_room():
                raise DiskFull(self._disk.max_bytes)
            make(path)
            size = path.stat().st_size
            try:
                self.charge(size)
            except DiskFull:
                path.unlink(missing_ok=True)
                raise
            return size

    def delete(self, path: pathlib.Path) -> None:
        """Delete one file of this area and stop counting its bytes."""
        try:
            size = path.stat().st_size
            path.unlink()
        except OSError:
            return
        self.release(size)


class Disk:
    """The emulator's own folder under ``root`` (see the module docstring); ``area`` is the current epoch's."""

    def __init__(self, root: pathlib.Path, *, max_bytes: int) -> None:
        self.root = root
        self.home = root / OWN_FOLDER
        self.max_bytes = max_bytes
        self.lock = threading.Lock()
        self.home.mkdir(parents=True, exist_ok=True)
        self.swept = sweep(self.home)
        self.run = self.home / f"{_RUN_PREFIX}{uuid.uuid4().hex}"
        self.run.mkdir()
        fd = _hold_lock(self.run / _LOCK)
        # The lock lasts as long as this object: close() gives it up, and so does garbage collection.
        self._unlock = weakref.finalize(self, os.close, fd) if fd is not None else None
        self._epoch = 0
        self.area = Area(self, self.run / "0")

    def renew(self) -> None:
        """Start a new epoch (a reset): the old epoch's files are deleted, a new empty area takes its place."""
        old = self.area
        self._epoch += 1
        self.area = Area(self, self.run / str(self._epoch))
        with self.lock:
            old.alive = False
        shutil.rmtree(old.folder, ignore_errors=True)

    def set_cap(self, max_bytes: int) -> None:
        with self.lock:
            self.max_bytes = max_bytes

    def release(self) -> None:
        """Stop counting and give up the run's lock, leaving its files (for their owner, or the next sweep)."""
        with self.lock:
            self.area.alive = False
        if self._unlock is not None:
            self._unlock()

    def close(self) -> None:
        """Delete this run's files and give up its lock; the emulator's folder goes too when nothing else is in it."""
        with self.lock:
            self.area.alive = False
        shutil.rmtree(self.run, ignore_errors=True)
        if self._unlock is not None:
            self._unlock()
        with contextlib.suppress(OSError):
            self.home.rmdir()  # only when empty: another emulator may be using it


def _hold_lock(path: pathlib.Path) -> int | None:
    """Open and exclusively lock ``path``; the lock holds for as long as the returned descriptor stays open."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no flock, no sweep
        return None
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def sweep(home: pathlib.Path) -> list[pathlib.Path]:
    """Delete the run folders under ``home`` whose process is gone; returns the ones deleted."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover
        return []
    swept = []
    for run in sorted(home.glob(f"{_RUN_PREFIX}*")):
        if not run.is_dir() or run.is_symlink():
            continue
        try:
            fd = os.open(run / _LOCK, os.O_RDWR | os.O_CREAT)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # a live emulator holds it
            continue
        try:
            shutil.rmtree(run, ignore_errors=True)
            swept.append(run)
        finally:
            os.close(fd)
    return swept
