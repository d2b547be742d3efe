"""The raw lake on disk: Parquet partitioned by event date, quarantine files and load manifests.

Layout under ``$LLM_MARGIN_DATA_DIR/lake/`` (engine-neutral; DuckDB reads it today, Spark tomorrow)::

    usage_events/event_date=YYYY-MM-DD/<sha16>-<chunk>-<n>.parquet   good records
    quarantine/usage_events/<sha16>-<chunk>.parquet                   bad records, with reasons
    billing/<entity>/<sha16>-<chunk>.parquet                          table exports (and
    provider_invoices/lines/<sha16>-<chunk>.parquet                     their quarantine/<group>/)
    fx/ecb_rates/<sha16>-<chunk>.parquet
    stripe/<table>/<sha16>-<chunk>.parquet                            (one file, several tables)
    prices/rules/<sha16>.parquet                                      price rules
    _manifests/<dataset>/<sha256>.json                                one per loaded file content
    _tmp/<dataset>/<sha256>/                                          work in progress, never read

Every loader (usage events, table exports, pricing) publishes the same way, through ``Lake``:
``start`` (remove what a crashed load of the content left), write into the work dir, then
``publish``: the finished files become visible by ``os.replace``, and the load counts as done only
when its manifest is written, last. A crash leaves no manifest, so the next run loads the file
again, first removing whatever the crashed run had already moved in (file names carry the
content hash).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.sql_text import literal

HASH_PREFIX = 16
# Metadata key on every ingestion asset's materialization: the SHA-256 of each landing file it
# loaded in that run (the batch the Great Expectations checks validate).
LOADED_SHAS = "loaded_sha256"
SCHEMA_PARTITION = "event_date=1970-01-01"
SCHEMA_FILE = "schema-v1.parquet"


@dataclass(frozen=True)
class Lake:
    """One dataset of the lake (``usage_events``, a table-export group such as ``billing``, or
    ``prices``): its data, quarantine, manifest and work folders, and the one way to publish a
    load into them."""

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
        """(Usage events.) Create the folders, and one empty Parquet file per dataset so that readers (dbt sources)
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
                    con.execute(f"copy ({sql} limit 0) to {literal(tmp)} (format parquet)")
                    os.replace(tmp, target)

    def work_data(self, sha: str) -> Path:
        """Where a load writes its good rows: the work dir mirrors the lake root, so a file at
        ``work_data(sha)/<sub path>`` is published to ``data/<sub path>``."""
        return self.work_dir(sha) / self.dataset

    def work_quarantine(self, sha: str) -> Path:
        """Where a load writes its bad rows, published to ``quarantine/``."""
        return self.work_dir(sha) / "quarantine" / self.dataset

    def start(self, sha: str) -> Path:
        """Begin (or redo) the load of a content: remove what a crashed load of it left in the
        lake and in the work dir, and return an empty work dir."""
        self.remove_partial(sha)
        work = self.work_dir(sha)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        return work

    def abandon(self, sha: str) -> None:
        """Drop a failed load's work dir; nothing of it reached the lake."""
        shutil.rmtree(self.work_dir(sha), ignore_errors=True)

    def remove_partial(self, sha: str) -> int:
        """Delete files a crashed load of this content left behind; returns how many.

        Every file a load publishes is named ``<sha prefix>.parquet`` or ``<sha prefix>-*``, in
        ``data`` (one folder level down: a partition or an entity) or in ``quarantine``."""
        prefix = sha[:HASH_PREFIX]

        def ours(path: Path) -> bool:
            return path.name.startswith(prefix) and path.name[len(prefix) : len(prefix) + 1] in "-."

        stale = [p for p in self.data.glob(f"*/{prefix}*") if ours(p)]
        stale += [p for p in self.quarantine.glob(f"{prefix}*") if ours(p)]
        for path in stale:
            path.unlink()
        return len(stale)

    def publish(self, sha: str, manifest: dict) -> list[str]:
        """Publish a finished load atomically: move every file of its work dir to the same path
        under the lake root (``os.replace``), then write its manifest, last: the commit point.

        A crash in between leaves files but no manifest; the next load of the content starts
        with ``remove_partial``. The manifest lists the files (``lake_files``)."""
        work = self.work_dir(sha)
        moved: list[str] = []
        for part in sorted(p for p in work.rglob("*") if p.is_file()):
            target = self.root / part.relative_to(work)
            if not (target.is_relative_to(self.data) or target.is_relative_to(self.quarantine)):
                raise ValueError(f"{part} would publish outside {self.data} and {self.quarantine}")
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, target)
            moved.append(target.relative_to(self.root).as_posix())
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
