"""Great Expectations (1.x) validation of a batch of lake files: the suites of ``expectations/``
run on pandas DataFrames that DuckDB reads from the batch's Parquet files.

The suites are JSON files in ``expectations/`` (expectations/README.md): GX's own expectation
configurations (``type``, ``kwargs``, ``meta``) plus how to read the batch. GX runs on a pandas
DataFrame (its SQL datasource does not work over DuckDB): DuckDB reads the batch's Parquet files
into one frame per suite part.

A suite with a ``sample`` (the usage events) is validated on a deterministic sample of its batch:
the rows whose DuckDB ``hash`` of the sample key falls in the lowest ``rows / batch rows`` of the
hash range, so about ``rows`` rows, the same ones on every run of the same batch, and every
version of one key together. A batch of at most ``rows`` rows is validated whole. Such a suite
holds distribution and batch-level expectations only: the per-record rules are the ingestion
validator's, which checks every record (DECISIONLOG, "Great Expectations on a sample").

Nothing here imports Dagster: the GX worker (gx_worker.py) validates with this module alone. The
Dagster checks that report the outcomes are in gx_suites.py.
"""

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.paths import PROJECT_ROOT
from orchestration.sql_text import literal

SUITES_DIR = PROJECT_ROOT / "expectations"
SAMPLE_SIZE = 5
# Expectations that judge each row on its own: a batch can be validated in chunks of rows and
# the results added up. Any other kind (uniqueness, aggregates) needs the whole batch at once.
ROW_WISE = {
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_match_regex",
    "expect_column_pair_values_a_to_be_greater_than_b",
}
CHUNK_ROWS = 1_000_000


@dataclass(frozen=True)
class Sample:
    """How a part's batch was narrowed before GX saw it."""

    key: str | None  # the column hashed; None: the whole batch
    batch_rows: int
    threshold: int | None = None  # keep rows with hash(key) < threshold; None: every row

    def where_sql(self) -> str:
        if self.threshold is None:
            return ""
        return f" where hash({self.key}) < {self.threshold}::ubigint"

    def describe(self, rows_validated: int) -> dict:
        if self.threshold is None:
            drawn = "the whole batch"
        else:
            drawn = (
                f"the rows whose DuckDB hash({self.key}) is below {self.threshold} "
                f"(about {self.threshold / HASH_RANGE:.4%} of the hash range); the same rows on "
                f"every run of this batch, all versions of one {self.key} together"
            )
        return {"rows_validated": rows_validated, "batch_rows": self.batch_rows, "drawn": drawn}


HASH_RANGE = 2**64  # DuckDB's hash() is a ubigint


def plan_sample(files: list[Path], spec: dict | None) -> Sample:
    """The sample a suite's ``sample`` spec (``{"rows": n, "key": column}``) draws from the batch
    ``files``, the batch's size read from the Parquet footers; no spec: the whole batch."""
    import pyarrow.parquet as pq

    batch_rows = sum(pq.read_metadata(path).num_rows for path in files)
    if not spec or batch_rows <= spec["rows"]:
        return Sample(key=None, batch_rows=batch_rows)
    return Sample(
        key=spec["key"],
        batch_rows=batch_rows,
        threshold=spec["rows"] * HASH_RANGE // batch_rows,
    )


@dataclass
class Validation:
    """A suite's outcomes on one batch, and per part what GX saw of it."""

    outcomes: list["Outcome"]
    samples: dict[str, dict] = field(default_factory=dict)


@dataclass
class Outcome:
    """One expectation's result on one batch."""

    suite: str
    part: str
    expectation: str
    column: str | None
    blocking: bool
    success: bool
    why: str = ""
    unexpected_count: int = 0
    element_count: int = 0
    sample: list[dict] = field(default_factory=list)

    def describe(self) -> dict:
        return {
            "expectation": self.expectation,
            "column": self.column,
            "part": self.part,
            "unexpected": self.unexpected_count,
            "of": self.element_count,
            "why": self.why,
            "sample": self.sample,
        }


def load_suite(name: str) -> dict:
    return json.loads((SUITES_DIR / f"{name}.json").read_text())


def suite_parts(suite: dict) -> dict[str, dict]:
    """part name → {read, expectations}; a suite without ``entities`` has one part, ``all``."""
    if "entities" in suite:
        return {
            entity: {"read": "select * from batch", "expectations": expectations}
            for entity, expectations in suite["entities"].items()
        }
    return {
        "all": {
            "read": suite.get("read", "select * from batch"),
            "expectations": suite["expectations"],
        }
    }


def read_batch(files: list[Path], read_sql: str, sample: Sample | None = None):
    """The batch's Parquet files as one pandas DataFrame, through ``read_sql`` over view
    ``batch`` (only the ``sample``'s rows when one is given)."""
    paths = ", ".join(literal(p) for p in files)
    where = sample.where_sql() if sample else ""
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        con.execute(
            f"create view batch as select * from read_parquet([{paths}], union_by_name = true)"
            + where
        )
        return con.execute(read_sql).df()


def _jsonable(value):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def validate(
    suite: str, part: str, frame, expectations: list[dict], index_columns: list[str]
) -> list[Outcome]:
    """Run ``expectations`` on ``frame`` through GX 1.x (ephemeral context, pandas data source,
    a ValidationDefinition) and return one Outcome per expectation."""
    return validate_frames(suite, part, [frame], expectations, index_columns)


def validate_frames(
    suite: str, part: str, frames: Iterable, expectations: list[dict], index_columns: list[str]
) -> list[Outcome]:
    """``validate`` over a batch given as several frames (chunks of rows), the results added up:
    only for expectations that judge each row alone (``ROW_WISE``)."""
    definition = None
    total: list[Outcome] | None = None
    for frame in frames:
        if definition is None:
            definition = _definition(suite, part, expectations)
        index = [c for c in index_columns if c in frame.columns]
        result = definition.run(
            batch_parameters={"dataframe": frame},
            result_format={
                "result_format": "SUMMARY",
                "unexpected_index_column_names": index,
                "partial_unexpected_count": SAMPLE_SIZE,
            },
        )
        outcomes = _outcomes(suite, part, result, len(frame))
        total = (
            outcomes
            if total is None
            else [_add(a, b) for a, b in zip(total, outcomes, strict=True)]
        )
    return total or []


def _definition(suite: str, part: str, expectations: list[dict]):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # no bars in run logs
    batch = (
        context.data_sources.add_pandas(f"{suite}_{part}")
        .add_dataframe_asset(part)
        .add_batch_definition_whole_dataframe("batch")
    )
    gx_suite = context.suites.add(
        gx.ExpectationSuite(
            name=f"{suite}.{part}",
            expectations=[
                ExpectationConfiguration(
                    type=e["type"], kwargs=e["kwargs"], meta=e.get("meta", {})
                ).to_domain_obj()
                for e in expectations
            ],
        )
    )
    return context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite}.{part}", data=batch, suite=gx_suite)
    )


def _outcomes(suite: str, part: str, result, rows: int) -> list[Outcome]:
    outcomes = []
    for r in result.results:
        config = r.expectation_config
        kwargs = config.kwargs
        column = kwargs.get("column") or (
            f"{kwargs['column_A']} >= {kwargs['column_B']}"
            if "column_A" in kwargs
            else ", ".join(kwargs.get("column_list", [])) or None
        )
        details = r.result or {}
        sample = [
            {k: _jsonable(v) for k, v in row.items()}
            for row in (details.get("partial_unexpected_index_list") or [])[:SAMPLE_SIZE]
        ]
        if not sample and details.get("partial_unexpected_list"):
            sample = [
                {"value": _jsonable(v)} for v in details["partial_unexpected_list"][:SAMPLE_SIZE]
            ]
        if r.exception_info and r.exception_info.get("raised_exception"):
            sample = [{"exception": str(r.exception_info.get("exception_message"))}]
        outcomes.append(
            Outcome(
                suite=suite,
                part=part,
                expectation=config.type,
                column=column,
                blocking=bool((config.meta or {}).get("blocking")),
                success=bool(r.success),
                why=(config.meta or {}).get("why", ""),
                unexpected_count=int(details.get("unexpected_count") or 0),
                element_count=int(details.get("element_count") or rows),
                sample=sample,
            )
        )
    return outcomes


def _add(a: Outcome, b: Outcome) -> Outcome:
    """One expectation's outcome over two chunks of a batch."""
    assert (a.expectation, a.column) == (b.expectation, b.column), (a, b)
    return Outcome(
        suite=a.suite,
        part=a.part,
        expectation=a.expectation,
        column=a.column,
        blocking=a.blocking,
        success=a.success and b.success,
        why=a.why,
        unexpected_count=a.unexpected_count + b.unexpected_count,
        element_count=a.element_count + b.element_count,
        sample=(a.sample + b.sample)[:SAMPLE_SIZE],
    )


def file_chunks(files: list[Path], max_rows: int) -> list[list[Path]]:
    """``files`` in order, grouped so that each group holds at most ``max_rows`` rows (a file
    larger than that is a group of its own), from the Parquet footers."""
    import pyarrow.parquet as pq

    chunks: list[list[Path]] = []
    rows = 0
    for path in files:
        n = pq.read_metadata(path).num_rows
        if not chunks or rows + n > max_rows:
            chunks.append([])
            rows = 0
        chunks[-1].append(path)
        rows += n
    return chunks


def validate_batch(
    suite_name: str,
    files_by_part: dict[str, list[Path]],
    *,
    chunk_rows: int = CHUNK_ROWS,
    sample_rows: int | None = None,
) -> Validation:
    """Validate each part's files. A suite with a ``sample`` is validated on that sample of the
    batch (``sample_rows`` overrides its size); one of row-wise expectations only is read and
    validated ``chunk_rows`` rows at a time, so memory does not grow with the batch; others at
    once."""
    suite = load_suite(suite_name)
    sample_spec = suite.get("sample")
    if sample_spec and sample_rows is not None:
        sample_spec = {**sample_spec, "rows": sample_rows}
    result = Validation(outcomes=[])
    for part, spec in suite_parts(suite).items():
        files = files_by_part.get(part, [])
        if not files:
            continue
        if sample_spec:
            sample = plan_sample(files, sample_spec)
            frame = read_batch(files, spec["read"], sample)
            result.samples[part] = sample.describe(len(frame))
            frames = [frame]
        else:
            row_wise = all(
                e["type"] in ROW_WISE and "mostly" not in e["kwargs"] for e in spec["expectations"]
            )
            chunks = file_chunks(files, chunk_rows) if row_wise else [files]
            frames = (read_batch(chunk, spec["read"]) for chunk in chunks)
        result.outcomes += validate_frames(
            suite_name, part, frames, spec["expectations"], suite["index_columns"]
        )
    return result
