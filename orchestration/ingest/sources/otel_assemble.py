"""Span store → calls and tasks → the one usage-event path, a trace at a time, across files.

Each run assembles the traces that new span files touched, plus the traces still waiting:

1. **Wait for the trace.** A span whose parent has not arrived may get its customer from that
   parent: the Collector exports a span when it ends, so children (the LLM calls) are often in
   an earlier file than the request span that carries the attribution. A trace is assembled
   when no span in it points at a missing parent, or once it has waited ``wait`` since its first
   span was stored (then it is assembled with what is there, and a parent arriving later still
   re-assembles it).
2. **Attribute.** Each ``llm_margin.*`` tag (and ``user.id``, else ``enduser.id``) is read from
   the GenAI span, else its nearest ancestor in the trace that has it, else the span's resource.
3. **Chain.** A call's task is its ``llm_margin.task_id``, else its trace (every GenAI span of a
   trace without a task id is one task). Within a task, calls are ordered by start time: attempt
   1, 2, ...; a call after a failed one points at it (``parent_event_id``) and, when provider or
   model differ, is a fallback (``fallback_from_route`` = the failed call's route).
4. **Map** each call to a contract record (docs/sources.md), event id ``<trace id>:<span id>``,
   emitted at the assembly time, and send the records through ``usage_events.load_records``:
   validated, quarantined with the span's file and line, published once. A record the lake
   already holds unchanged is not sent again; a changed one (a late parent changed its customer,
   a late call changed the attempt order) is a new version of the same event, and staging keeps
   the latest (``emitted_at``). A span exported twice is one call.

The state between runs (``_state/otel_assembly.json``: which span files were assembled, which
traces wait) is written after the records are published, so a crash re-assembles, and records
that did not change are not sent twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.ingest.lake import Lake
from orchestration.ingest.readers import RecordBatch
from orchestration.ingest.rules import q
from orchestration.ingest.sources.otel import ATTRIBUTION, DATASET, SOURCE_FORMAT, ensure_store
from orchestration.ingest.usage_events import FileLoad, ensure_lake, load_records
from orchestration.ingest.validate import DEFAULT_MAX_FUTURE_HOURS

DEFAULT_TRACE_WAIT = timedelta(hours=1)
MAX_ANCESTOR_DEPTH = 64
STATE_FILE = Path("_state") / "otel_assembly.json"

# OpenTelemetry provider names (gen_ai.provider.name / gen_ai.system) → llm-margin's providers.
PROVIDER_NAMES = {
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "vertex_ai": "google",
    "gemini": "google",
    "azure.ai.openai": "azure",
    "az.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "aws.bedrock": "aws-bedrock",
    "mistral_ai": "mistral",
    "x_ai": "x-ai",
    "xai": "x-ai",
}
# OpenAI's service tiers → the contract's.
SERVICE_TIERS = {"default": "standard", "auto": "standard", "scale": "priority"}


@dataclass
class Assembly:
    """What one assembly run did."""

    span_files: int = 0  # new span files whose traces were assembled
    traces_considered: int = 0
    traces_assembled: int = 0
    traces_waiting: int = 0  # wait for a parent span (assembled later)
    calls: int = 0  # GenAI spans of the assembled traces
    records_unchanged: int = 0  # already in the lake as they are: not sent again
    load: FileLoad | None = None  # the records sent through the usage-event path


def _state_path(root: Path) -> Path:
    return root / STATE_FILE


def read_state(root: Path) -> dict:
    path = _state_path(root)
    if not path.exists():
        return {"assembled_span_files": [], "waiting_traces": []}
    return json.loads(path.read_text())


def _write_state(root: Path, state: dict) -> None:
    path = _state_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, sort_keys=True))
    os.replace(tmp, path)


def _tag(name: str) -> str:
    """A tag: the span's, else its nearest ancestor's, else its resource's."""
    return f"coalesce(span_{name}, ancestor_{name}, resource_{name})"


def _count(text: str) -> str:
    """A token count as JSON: a number when the text is a whole number, else the text (which
    the validator then quarantines as the wrong type)."""
    return f"case when try_cast({text} as bigint) is not null then to_json(try_cast({text} as bigint)) else to_json({text}) end"


def _provider_sql() -> str:
    raw = "lower(trim(coalesce(provider_name, gen_ai_system)))"
    whens = " ".join(f"when {q(k)} then {q(v)}" for k, v in PROVIDER_NAMES.items())
    return f"case {raw} {whens} else {raw} end"


def _status_sql() -> str:
    failed = (
        "(upper(coalesce(status_code, '')) in ('2', 'STATUS_CODE_ERROR', 'ERROR') "
        "or nullif(trim(error_type), '') is not null)"
    )
    kind = "lower(coalesce(error_type, ''))"
    return (
        f"case when not {failed} then 'success' "
        f"when {kind} like '%timeout%' or {kind} like '%timed out%' then 'timeout' "
        f"when {kind} = '429' or {kind} like '%rate%limit%' then 'rate_limited' "
        f"when {kind} like '%cancel%' then 'cancelled' "
        f"when {kind} = 'invalid_output' then 'invalid_output' "
        "else 'error' end"
    )


def _iso(nanos: str) -> str:
    return f"strftime(make_timestamp({nanos} // 1000), '%Y-%m-%dT%H:%M:%S.%fZ')"


def assembly_sql(now: datetime) -> str:
    """SQL over ``spans`` (the deduplicated spans of the ready traces) → one contract record per
    GenAI span, with its position (``source_file``, ``source_row``) and its ``record_key``."""
    walk_tags = ",\n        ".join(
        f"arg_min(ancestors.span_{name}, walk.depth) filter (where ancestors.span_{name} is not null) "
        f"as ancestor_{name}"
        for name in ATTRIBUTION
    )
    record = {
        "event_id": "to_json(trace_id || ':' || span_id)",
        "occurred_at": f"to_json({_iso('start_unix_nano')})",
        "emitted_at": f"to_json({q(now.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ'))})",
        "customer_id": "to_json(customer_id)",
        "workspace_id": "to_json(workspace_id)",
        "feature": "to_json(feature)",
        "user_id": "to_json(user_id)",
        "task_id": "to_json(task_key)",
        "parent_event_id": "to_json(case when previous_status <> 'success' then previous_event_id end)",
        "attempt": "to_json(attempt)",
        "provider": "to_json(provider)",
        "model": "to_json(model)",
        "route": "to_json(route)",
        "fallback_from_route": (
            "to_json(case when previous_status <> 'success' "
            "and (provider is distinct from previous_provider or model is distinct from previous_model) "
            "then previous_route end)"
        ),
        "service_tier": "to_json(service_tier)",
        "prompt_tokens": _count("coalesce(input_tokens, prompt_tokens_legacy)"),
        "cached_prompt_tokens": _count("cache_read_tokens"),
        "cache_write_tokens": _count("cache_creation_tokens"),
        "completion_tokens": _count("coalesce(output_tokens, completion_tokens_legacy)"),
        "reasoning_tokens": _count("reasoning_tokens"),
        "latency_ms": (
            "to_json(case when end_unix_nano >= start_unix_nano "
            "then (end_unix_nano - start_unix_nano) // 1000000 end)"
        ),
        "status": "to_json(status)",
        "outcome": "to_json(outcome)",
        "otel_trace_id": "to_json(trace_id)",
        "otel_span_id": "to_json(span_id)",
        "otel_span_name": "to_json(span_name)",
        "otel_span_index": "to_json(span_index)",
    }
    emitted_at = record.pop("emitted_at")
    pairs = ", ".join(f"{q(k)}, {v}" for k, v in record.items())
    return f"""
with recursive walk as (
    select trace_id, span_id, parent_span_id as ancestor_id, 1 as depth
    from spans
    where is_genai and parent_span_id is not null
    union all
    select walk.trace_id, walk.span_id, parents.parent_span_id as ancestor_id, walk.depth + 1
    from walk
    inner join spans as parents
        on walk.trace_id = parents.trace_id and walk.ancestor_id = parents.span_id
    where parents.parent_span_id is not null and walk.depth < {MAX_ANCESTOR_DEPTH}
),
inherited as (
    -- each tag of the nearest ancestor that has it
    select
        walk.trace_id,
        walk.span_id,
        {walk_tags}
    from walk
    inner join spans as ancestors
        on walk.trace_id = ancestors.trace_id and walk.ancestor_id = ancestors.span_id
    group by walk.trace_id, walk.span_id
),
calls as (
    select
        spans.*,
        {", ".join(f"inherited.ancestor_{name}" for name in ATTRIBUTION)}
    from spans
    left join inherited
        on spans.trace_id = inherited.trace_id and spans.span_id = inherited.span_id
    where spans.is_genai
),
attributed as (
    select
        -- the span's raw service_tier is replaced by the mapped one below: a second column of
        -- the same name would leave later references reading the raw value
        * exclude (service_tier),
        {_tag("customer_id")} as customer_id,
        {_tag("workspace_id")} as workspace_id,
        {_tag("feature")} as feature,
        coalesce({_tag("user_id")}, {_tag("enduser_id")}) as user_id,
        coalesce({_tag("task_id")}, 'otel-trace-' || trace_id) as task_key,
        {_provider_sql()} as provider,
        coalesce(nullif(trim(response_model), ''), nullif(trim(request_model), '')) as model,
        {_status_sql()} as status,
        case lower(coalesce(service_tier, service_tier_legacy))
            {" ".join(f"when {q(k)} then {q(v)}" for k, v in SERVICE_TIERS.items())}
            else lower(coalesce(service_tier, service_tier_legacy))
        end as service_tier
    from calls
),
routed as (
    -- without llm_margin.route, a call's route is its provider and model, so that a fallback
    -- to another model is seen as one
    select *, coalesce({_tag("route")}, provider || '/' || model) as route
    from attributed
),
ordered as (
    select
        *,
        row_number() over task_order as attempt,
        lag(trace_id || ':' || span_id) over task_order as previous_event_id,
        lag(status) over task_order as previous_status,
        lag(provider) over task_order as previous_provider,
        lag(model) over task_order as previous_model,
        lag(route) over task_order as previous_route
    from routed
    window task_order as (partition by task_key order by start_unix_nano, trace_id, span_id)
)
select
    source_row,
    _source_file as source_file,
    trace_id || ':' || span_id as event_id,
    record_key,
    json_merge_patch(
        content, json_object('emitted_at', {emitted_at}, 'otel_record_key', record_key)
    )::varchar as raw
from (
    -- the record without emitted_at, built once; its md5 says whether it changed
    select *, md5(content::varchar) as record_key
    from (select *, json_object({pairs}) as content from ordered)
)
"""


def _span_files(store: Lake, manifests: list[dict]) -> list[str]:
    files = []
    for manifest in manifests:
        files += [
            (store.root / f).as_posix()
            for f in manifest.get("lake_files", [])
            if f.startswith(f"{DATASET}/")
        ]
    return files


def assemble(
    lake_root: Path,
    *,
    now: datetime | None = None,
    wait: timedelta = DEFAULT_TRACE_WAIT,
    max_future_hours: float = DEFAULT_MAX_FUTURE_HOURS,
) -> Assembly:
    """Assemble the traces new span files touched and the traces still waiting; see the module
    docstring."""
    now = now or datetime.now(UTC)
    store = Lake(lake_root, DATASET)
    events = Lake(lake_root)
    ensure_store(store)
    ensure_lake(events)
    state = read_state(lake_root)
    done = set(state["assembled_span_files"])
    manifests = [m for m in store.manifests_all() if m.get("file_sha256") not in done]
    result = Assembly(span_files=len(manifests))
    new_files = _span_files(store, manifests)
    waiting = list(state["waiting_traces"])
    if not new_files and not waiting:
        return result

    all_files = f"{q((store.data / '*' / '*.parquet').as_posix())}"
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        con.execute("create temp table candidates (trace_id varchar)")
        if new_files:
            con.execute(
                "insert into candidates select distinct trace_id from read_parquet(?, union_by_name = true)",
                [new_files],
            )
        if waiting:
            con.execute("insert into candidates select unnest(?::varchar[])", [waiting])
        con.execute(
            f"""
            create temp table trace_spans as
            select * exclude (copy_rank)
            from (
                select *, row_number() over (
                    partition by trace_id, span_id order by _ingested_at, _source_file, source_row, span_index
                ) as copy_rank
                from read_parquet({all_files}, union_by_name = true)
                where trace_id in (select trace_id from candidates)
            )
            where copy_rank = 1
            """
        )
        con.execute(
            """
            create temp table traces as
            select
                spans.trace_id,
                bool_or(spans.is_genai) as has_calls,
                count(spans.parent_span_id) filter (where parents.span_id is null) as missing_parents,
                min(spans._ingested_at) as first_stored_at
            from trace_spans as spans
            left join trace_spans as parents
                on spans.trace_id = parents.trace_id and spans.parent_span_id = parents.span_id
            group by spans.trace_id
            """
        )
        con.execute(
            "create temp table ready as select trace_id from traces where has_calls and "
            f"(missing_parents = 0 or first_stored_at <= timestamptz {q(now.isoformat())} - to_seconds({wait.total_seconds()}))"
        )
        still_waiting = [
            row[0]
            for row in con.execute(
                "select trace_id from traces where has_calls and trace_id not in (select trace_id from ready) order by 1"
            ).fetchall()
        ]
        result.traces_considered = con.execute(
            "select count(*) from traces where has_calls"
        ).fetchone()[0]
        result.traces_waiting = len(still_waiting)
        result.traces_assembled = con.execute("select count(*) from ready").fetchone()[0]
        con.execute(
            "create temp table spans as select * from trace_spans where trace_id in (select trace_id from ready)"
        )
        con.execute(f"create temp table assembled as {assembly_sql(now)}")
        result.calls = con.execute("select count(*) from assembled").fetchone()[0]
        con.execute(_latest_keys_sql(events))
        changed = con.sql(
            "select source_row, source_file, raw from assembled "
            "where record_key not in (select record_key from latest_keys where record_key is not null) "
            "order by source_file, source_row, event_id"
        ).to_arrow_table()
    result.records_unchanged = result.calls - changed.num_rows
    if changed.num_rows:
        digest = hashlib.sha256()
        for text in changed.column("raw").to_pylist():
            digest.update(text.encode() + b"\n")
        table = pa.table(
            {
                "source_row": changed.column("source_row").cast(pa.int64()),
                "source_file": changed.column("source_file").cast(pa.string()),
                "raw": changed.column("raw").cast(pa.string()),
            }
        )
        result.load = load_records(
            f"otel (assembled {now.strftime('%Y-%m-%dT%H:%M:%SZ')}: {result.traces_assembled} traces)",
            digest.hexdigest(),
            SOURCE_FORMAT,
            lambda: [RecordBatch(table, numbers_as_text=False)],
            events,
            now=now,
            max_future_hours=max_future_hours,
            manifest_extra={"otel_traces_assembled": result.traces_assembled},
        )
        if result.load.status == "failed":
            return result  # state unchanged: the next run assembles these traces again
    _write_state(
        lake_root,
        {
            "assembled_span_files": sorted(done | {m["file_sha256"] for m in manifests}),
            "waiting_traces": still_waiting,
            "assembled_at": now.isoformat(),
        },
    )
    return result


def _latest_keys_sql(events: Lake) -> str:
    """``latest_keys(event_id, record_key)``: the record key of the latest version the lake
    holds (loaded or quarantined) of each assembled event."""
    loaded = (events.data / "*" / "*.parquet").as_posix()
    quarantined = (events.quarantine / "*.parquet").as_posix()
    return f"""
    create temp table latest_keys as
    with versions as (
        select event_id, _ingested_at as version_at, json_extract_string(attributes, '$.otel_record_key') as record_key
        from read_parquet({q(loaded)}, hive_partitioning = true, union_by_name = true)
        where _source_format = {q(SOURCE_FORMAT)}
            and event_date in (select distinct cast(make_timestamp(start_unix_nano // 1000) as date) from spans)
            and event_id in (select event_id from assembled)
        union all
        select event_id, quarantined_at as version_at,
            json_extract_string(try_cast(raw_record as json), '$.otel_record_key') as record_key
        from read_parquet({q(quarantined)}, union_by_name = true)
        where source_format = {q(SOURCE_FORMAT)}
            and event_id in (select event_id from assembled)
    )
    select event_id, arg_max(record_key, version_at) as record_key
    from versions
    group by event_id
    """
