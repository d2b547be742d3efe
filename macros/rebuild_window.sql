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
