{#
    How incremental event-grain models replace rows, per engine: chosen here, in one place.

    DuckDB (and any engine with a cheap delete): delete+insert on the model's unique key; the
    incremental branch emits only the events it re-derived.

    Spark on Parquet (no MERGE without Delta/Iceberg): insert_overwrite of whole event_date
    partitions (dynamic partition overwrite). The incremental branch must then emit the COMPLETE
    content of every partition it writes; models ask incremental_overwrites_partitions() which
    branch to compile (see stg_usage__events and DECISIONLOG.md).

    Use in a model: {{ config(materialized='incremental', **event_grain_incremental_config('event_id', 'event_date')) }}
#}

{% macro event_grain_incremental_config(unique_key, partition_column) -%}
    {{ return(adapter.dispatch('event_grain_incremental_config', 'llm_margin')(unique_key, partition_column)) }}
{%- endmacro %}

{% macro default__event_grain_incremental_config(unique_key, partition_column) -%}
    {{ return({'incremental_strategy': 'delete+insert', 'unique_key': unique_key}) }}
{%- endmacro %}

{% macro spark__event_grain_incremental_config(unique_key, partition_column) -%}
    {{ return({
        'incremental_strategy': 'insert_overwrite',
        'partition_by': [partition_column],
        'file_format': 'parquet',
    }) }}
{%- endmacro %}

{# True when an incremental run overwrites whole partitions (so it must emit them whole). Unit
   tests override this macro to pin either branch on any engine. #}
{% macro incremental_overwrites_partitions() -%}
    {{ return(config.get('incremental_strategy') == 'insert_overwrite') }}
{%- endmacro %}
