{#
    How the per-call what-if models (int_whatif_calls, int_whatif_calls_priced) are kept: by
    event_date partition, each run rebuilding only the days whose inputs changed for some
    scenario, every scenario of such a day (DECISIONLOG.md "What-if calls by scenario and day").
    The key is the day alone: dbt's delete+insert on a two-column key deletes through a join
    with every inserted row, a day's calls times a day's calls (it never finished on 3M events).
    Unlike the other incremental models, rows can also go away: a scenario removed from
    scenarios/, a period that moved on to the next month. So, per engine, chosen here in one
    place:
    - DuckDB: delete+insert on event_date, after a pre-hook has deleted every row no live
      scenario's period holds (whatif_delete_stale_rows);
    - Spark on Parquet: a table, rebuilt whole each run (insert_overwrite cannot delete a
      partition it does not write, and MERGE needs Delta or Iceberg).

    Use in a model: {{ config(**whatif_partition_config()) }}
#}

{% macro whatif_partition_config() -%}
    {{ return(adapter.dispatch('whatif_partition_config', 'llm_margin')()) }}
{%- endmacro %}

{% macro default__whatif_partition_config() -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': 'event_date',
        'on_schema_change': 'sync_all_columns',
        'pre_hook': ['{{ whatif_delete_stale_rows() }}'],
    }) }}
{%- endmacro %}

{% macro spark__whatif_partition_config() -%}
    {{ return({'materialized': 'table', 'file_format': 'parquet'}) }}
{%- endmacro %}

{# Deletes the rows of this model no live scenario's period holds (before an incremental run). #}
{% macro whatif_delete_stale_rows() -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where not exists (
        select 1
        from {{ ref('int_whatif_scenarios') }} as live_scenarios
        where live_scenarios.scenario_id = {{ this }}.scenario_id
            and {{ this }}.event_date >= live_scenarios.period_start
            and {{ this }}.event_date < live_scenarios.period_end
    )
    {%- endif -%}
{%- endmacro %}
