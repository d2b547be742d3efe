"""The raw lake on disk: Parquet partitioned by event date, quarantine files and load manifests.

Layout under ``$LLM_MARGIN_DATA_DIR/lake/`` (engine-neutral; DuckDB reads it today, Spark tomorrow)::

    usage_events/event_date=YYYY-MM-DD/<sha16>-<chunk>-<n>.parquet   good records
    quarantine/usage_events/<sha16>-<chunk>.parquet                   bad records, with reasons
    _manifests/usage_events/<sha256>.json                             one per loaded file content
    _tmp/                                                             work in progress, never read

A file's load becomes visible by ``os.replace`` of finished files, and counts as done only when
its manifest is written, last. A crash leaves no manifest, so the next run loads the file again,
first removing whatever the crashed run had already moved in (file names carry the content hash).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

HASH_PREFIX = 16
# Metadata key on every ingestion asset's materialization: the SHA-256 of each landing file it
# loaded in that run (the batch the Great Expectations checks validate).
LOADED_SHAS = "loaded_sha256"
SCHEMA_PARTITION = "event_date=1970-01-01"
SCHEMA_FILE = "schema-v1.parquet"


@dataclass(frozen=True)
class Lake:
    root: Path
    dataset: str = "usage_events"

    @property
    def data(self) -> Path:
        return self.root / self.dataset

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine" / self.dataset

    @property
    def manifests(self) -> Path:
        return self.root / "_manifests" / self.dataset

    def work_dir(self, sha: str) -> Path:
        return self.root / "_tmp" / self.dataset / sha

    def manifest_path(self, sha: str) -> Path:
        return self.manifests / f"{sha}.json"

    def read_manifest(self, sha: str) -> dict | None:
        path = self.manifest_path(sha)
        return json.loads(path.read_text()) if path.exists() else None

    def manifests_all(self) -> list[dict]:
        if not self.manifests.exists():
            return []
        return [json.loads(p.read_text()) for p in sorted(self.manifests.glob("[!_]*.json"))]

    def ensure(self, events_schema_sql: str, quarantine_schema_sql: str) -> None:
        """Create the folders, and one empty Parquet file per dataset so that readers (dbt sources)
        find a schema even before the first record lands."""
        for path in (self.data, self.quarantine, self.manifests):
            path.mkdir(parents=True, exist_ok=True)
        (self.manifests / "_none-loaded-yet.json").touch()  # lets readers glob an empty set
        empty_events = self.data / SCHEMA_PARTITION / SCHEMA_FILE
        empty_quarantine = self.quarantine / SCHEMA_FILE
        if empty_events.exists() and empty_quarantine.exists():
            return
        with duckdb.connect() as con:
            con.execute("set timezone = 'UTC'")
            for target, sql in (
                (empty_events, events_schema_sql),
                (empty_quarantine, quarantine_schema_sql),
            ):
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    tmp = target.with_suffix(".tmp")
                    con.execute(f"copy ({sql} limit 0) to '{tmp}' (format parquet)")
                    os.replace(tmp, target)

    def remove_partial(self, sha: str) -> int:
        """Delete files a crashed load of this content left behind; returns how many."""
        prefix = sha[:HASH_PREFIX]
        stale = list(self.data.glob(f"*/{prefix}-*.parquet")) + list(
            self.quarantine.glob(f"{prefix}-*.parquet")
        )
        for path in stale:
            path.unlink()
        return len(stale)

    def publish(self, sha: str, manifest: dict) -> list[str]:
        """Move a finished load from its work dir into the lake, then write its manifest."""
        work = self.work_dir(sha)
        moved: list[str] = []
        events_dir = work / "events"
        if events_dir.exists():
            for part in sorted(events_dir.glob("event_date=*/*.parquet")):
                target = self.data / part.parent.name / part.name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(part, target)
                moved.append(str(target.relative_to(self.root)))
        for part in sorted((work / "quarantine").glob("*.parquet")):
            target = self.quarantine / part.name
            os.replace(part, target)
            moved.append(str(target.relative_to(self.root)))
        write_manifest(self.manifest_path(sha), {**manifest, "lake_files": moved})
        shutil.rmtree(work, ignore_errors=True)
        return moved


def write_manifest(path: Path, manifest: dict) -> None:
    """Write a load manifest atomically, as one JSON line (readers treat the folder as NDJSON).
    It is the commit point of a load: write it last."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, sort_keys=True) + "\n")
    os.replace(tmp, path)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(8 * 1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()
