"""Sources other than the contract's own files, each a mapping onto the one ingestion path.

A source turns what it reads into batches of usage-event contract records
(``readers.RecordBatch``: ``source_row`` and the record's JSON text); from there on
``usage_events.load_records`` validates, quarantines and publishes them exactly as it does the
contract's own files. A source adds no loader, no validator and no lake of events of its own:

* ``litellm``: the LiteLLM proxy's ``LiteLLM_SpendLogs`` rows (pulled from its PostgreSQL by
  ``litellm_pull`` into landing files, or exported by the team) mapped in one SQL statement;
* ``otel``: OpenTelemetry GenAI spans, flattened per file into a span store (``otel_spans``) and
  assembled per trace into calls and tasks (``otel``, ``otel_assemble``).

docs/sources.md documents each mapping field by field.
"""
