{#
    The days a run was asked to rebuild, whatever changed: dbt vars rebuild_from and rebuild_to
    (YYYY-MM-DD, inclusive), passed by the Dagster job rebuild_days for the daily partitions it
    runs (orchestration/rebuild.py). Unset, the predicate is false and incremental models rebuild
    only what new data or new prices touched. The event-grain models that decide what to rebuild
    from their inputs (stg_usage__events, int_llm_calls_priced) add these days; every model after
    them follows through its rebuilt_at markers.
#}
{% macro in_rebuild_window(date_expression) -%}
    {%- set rebuild_from = var('rebuild_from', none) -%}
    {%- set rebuild_to = var('rebuild_to', rebuild_from) -%}
    {%- if rebuild_from -%}
        ({{ date_expression }} between cast('{{ rebuild_from }}' as date) and cast('{{ rebuild_to }}' as date))
    {%- else -%}
        (1 = 0)
    {%- endif -%}
{%- endmacro %}

{#
    The event_date partitions an incremental pricing model (int_pricing_cases_resolved,
    int_llm_calls_priced) builds again, as one query of one column, event_date (DECISIONLOG.md
    "Incremental above staging"):
    - the days of the calls ingested since this model's last run (its watermark: the latest
      last_ingested_at it holds), and the days the re-sent ones among them were in before: the
      day of any earlier version in the lake (an event's versions lie within lookback_days of
      each other, as stg_usage__events assumes);
    - every day when the pricing file loaded last is not the one the model was built with (its
      price_load_sequence): a new price file restates every call;
    - the days a run was asked to rebuild, whatever changed (in_rebuild_window above).
    events, event_versions and price_load name the model's CTEs over stg_usage__events,
    base_usage__event_versions and the current price load (one row, price_load_sequence).
#}
{% macro pricing_days_to_rebuild(events='events', event_versions='event_versions', price_load='price_load') -%}
    {%- set watermark -%}
        (select max(built.last_ingested_at) from {{ this }} as built)
    {%- endset -%}
    select new_calls.event_date
    from {{ events }} as new_calls
    where new_calls.last_ingested_at > {{ watermark }}
    union
    select cast(earlier_versions.occurred_at as date) as event_date
    from {{ event_versions }} as earlier_versions
    where
        earlier_versions.lake_event_date >= (
            select {{ add_days('min(new_calls.event_date)', -1 * var('lookback_days')) }}
            from {{ events }} as new_calls
            where new_calls.last_ingested_at > {{ watermark }}
        )
        and earlier_versions.event_id in (
            select re_sent_calls.event_id
            from {{ events }} as re_sent_calls
            where
                re_sent_calls.last_ingested_at > {{ watermark }}
                and re_sent_calls.first_ingested_at <= {{ watermark }}
        )
    union
    select every_call.event_date
    from {{ events }} as every_call
    where coalesce((select {{ price_load }}.price_load_sequence from {{ price_load }}), -1)
        <> coalesce((select max(built.price_load_sequence) from {{ this }} as built), -1)
    union
    select rebuilt_call.event_date
    from {{ events }} as rebuilt_call
    where {{ in_rebuild_window('rebuilt_call.event_date') }}
{%- endmacro %}
