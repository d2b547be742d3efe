"""What each quarantine reason code of the usage events means, in plain words: the one list.

The codes are the ``Rule`` codes the loaders give (``orchestration/ingest/validate.py``, the
bound and enum rules of ``rules.py``); ``audit.quarantined_usage_events.error_code`` holds them.
The table in docs/usage-events.md ("What happens to a bad record") shows the same meanings and
is tested to match this mapping, so the docs, the report and anything else that explains a code
read one list.
"""

from __future__ import annotations

QUARANTINE_REASONS: dict[str, str] = {
    "bad_json": "the line is not valid JSON",
    "empty_record": "an empty line",
    "not_an_object": "the line is JSON but not an object",
    "source_record_unreadable": "a source's row could not be mapped to a record",
    "invalid_encoding": "the bytes are not UTF-8",
    "wrong_cell_count": "a CSV row has more or fewer cells than the header",
    "missing_required": "a required field missing or empty",
    "wrong_type": "a value of the wrong type",
    "invalid_timestamp": "a timestamp that is not ISO-8601",
    "future_timestamp": "a timestamp in the future",
    "timestamp_out_of_range": "a timestamp before 2015-01-01",
    "negative_value": "a negative token count, retry count or latency",
    "out_of_range": "a token count above 10,000,000 in one call",
    "invalid_attempt": "an attempt number below 1",
    "unknown_value": "a value outside its list of allowed values",
    "cached_exceeds_prompt": "cache reads + cache writes exceed prompt_tokens",
    "reasoning_exceeds_completion": "reasoning_tokens exceed completion_tokens",
    "missing_final_tokens": "a final record without prompt_tokens or completion_tokens",
    "missing_task_tag": "a task's first attempt without customer_id, workspace_id or feature",
}


def quarantine_reason(code: str) -> str:
    """The plain meaning of a quarantine code; a code this list does not know is named as such
    (a new rule whose meaning has not been written down yet), never dropped."""
    return QUARANTINE_REASONS.get(code, f"reason code {code!r} (not described yet)")
