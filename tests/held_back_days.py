"""The small six-day data set the incremental tests build on, with its last days held back."""

from __future__ import annotations

import shutil
from pathlib import Path

from orchestration import cli
from orchestration.paths import DataPaths

FIRST_DAY = "2026-11-18"


def generate_holding_back(
    paths: DataPaths, work: Path, days_held: int
) -> tuple[Path, Path, list[Path]]:
    """Generates 1,500 events over six days from FIRST_DAY into ``paths`` (the data directory the
    environment names) and moves the last ``days_held`` usage files into ``work/held``. Returns
    (the usage landing folder, the held folder, the held files' original paths)."""
    assert cli.main(["generate", "--events", "1500", "--days", "6", "--customers", "4",
                     "--seed", "5", "--start-date", FIRST_DAY, "--quiet"]) == 0  # fmt: skip
    landing = paths.landing_for("usage_events")
    held = work / "held"
    held.mkdir()
    day_files = sorted(p for p in landing.iterdir() if p.is_file())
    assert len(day_files) == 6
    later = day_files[-days_held:]
    for path in later:
        shutil.move(path, held / path.name)
    return landing, held, later
