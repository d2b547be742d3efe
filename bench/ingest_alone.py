"""Time the usage-event loader alone on a few landing files, in one process on one worker.

    PYTHONPATH=<checkout> .venv/bin/python bench/ingest_alone.py LANDING_DIR FILE [FILE ...]

Copies the files into a temporary landing folder, runs ``load_landing`` (validate, write the lake
and the quarantine, publish) and prints the records loaded, wall and CPU seconds. With
``PYTHONPATH`` set to another checkout (a ``git worktree`` of an older commit), the same files are
timed with that commit's loader: how BENCHMARKS.md bisected a slowdown of ingestion.
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from orchestration.ingest.lake import Lake
from orchestration.ingest.usage_events import load_landing

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    source, names = Path(argv[0]), argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp) / "landing"
        landing.mkdir()
        for name in names:
            shutil.copy(source / name, landing / name)
        lake = Lake(Path(tmp) / "lake")
        before, started = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        loads = load_landing(landing, lake, now=NOW, workers=1)
        after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    loaded = sum(load.records_loaded for load in loads)
    print(f"{loaded} loaded, wall {time.monotonic() - started:.1f} s, CPU {cpu:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
