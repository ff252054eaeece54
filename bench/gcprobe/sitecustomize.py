"""Logs every garbage collection of a ``serve`` process: put this folder first on ``PYTHONPATH`` and name a file.

    PYTHONPATH=bench/gcprobe NEMO_GC_LOG=/tmp/gc.log python -m bench --only streams
    python -m bench.gclog /tmp/gc.log

The emulator the bench starts inherits the environment, so Python imports this module at its start. One line
per collection: wall time, generation, milliseconds, objects collected. Other processes are left alone.
"""

from __future__ import annotations

import gc
import os
import sys
import time

_LOG = os.environ.get("NEMO_GC_LOG")

if _LOG and "serve" in sys.argv:
    _path = _LOG
    _started: dict[int, float] = {}
    _rows: list[tuple[float, int, float, int]] = []

    def _note(phase: str, info: dict[str, int]) -> None:
        generation = info["generation"]
        if phase == "start":
            _started[generation] = time.perf_counter()
            return
        took = (time.perf_counter() - _started.pop(generation, time.perf_counter())) * 1000
        _rows.append((time.time(), generation, took, info.get("collected", 0)))
        if generation == 2 or len(_rows) >= 200:  # written in batches: the log must not be the pause
            with open(_path, "a", encoding="ascii") as log:
                log.writelines(f"{at:.3f} {gen} {ms:.3f} {collected}\n" for at, gen, ms, collected in _rows)
            _rows.clear()

    gc.callbacks.append(_note)
