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

{#
    Models above staging replace whole partitions on EVERY engine (models/intermediate and
    models/marts, DECISIONLOG.md "Incremental above staging: whole partitions, rebuilt-at markers"):
    their incremental branch recomputes every partition it touches, complete, so one SQL text is
    right under either strategy:
    - DuckDB: delete+insert keyed on the partition columns (delete the partitions, insert them);
    - Spark on Parquet: insert_overwrite of the same partitions.
    partition_columns: a column name or a list of them.

    Use in a model: {{ config(materialized='incremental', **partition_incremental_config('event_date')) }}
#}

{% macro partition_incremental_config(partition_columns) -%}
    {%- set columns = [partition_columns] if partition_columns is string else partition_columns -%}
    {{ return(adapter.dispatch('partition_incremental_config', 'llm_margin')(columns)) }}
{%- endmacro %}

{% macro default__partition_incremental_config(partition_columns) -%}
    {{ return({
        'incremental_strategy': 'delete+insert',
        'unique_key': partition_columns[0] if partition_columns | length == 1 else partition_columns,
        'on_schema_change': 'append_new_columns',
    }) }}
{%- endmacro %}

{% macro spark__partition_incremental_config(partition_columns) -%}
    {{ return({
        'incremental_strategy': 'insert_overwrite',
        'partition_by': partition_columns,
        'file_format': 'parquet',
        'on_schema_change': 'append_new_columns',
    }) }}
{%- endmacro %}

{#
    When this build (re)wrote a row: the same value for every row of one dbt invocation. A
    downstream incremental model rebuilds the partitions holding rows rebuilt after its own
    latest rebuilt_at (rebuilt_since_last_run). Bookkeeping only: an incremental and a full
    build differ in it, nothing else does.
#}
{% macro rebuilt_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{# The latest rebuilt_at already in this model's table (the epoch when it is empty). #}
{% macro last_rebuilt_at() -%}
    coalesce(
        (select max(built_rows.rebuilt_at) from {{ this }} as built_rows),
        cast('1970-01-01 00:00:00' as timestamp)
    )
{%- endmacro %}

{#
    is_incremental() for the models above staging, plus: the table already carries rebuilt_at and
    every column the model's YAML declares. A table built before the model was incremental, or
    before a column was added to it (an existing warehouse), has not, so its first incremental run
    compiles the full branch: every partition is emitted and replaced, and on_schema_change adds
    the new columns, filled on every row (an incremental run would leave them null on the days it
    did not rebuild). Unit tests override is_incremental, which this obeys.
#}
{% macro is_partition_incremental() -%}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- set declared = model.columns.keys() | map('lower') | list -%}
    {%- for column in ['rebuilt_at'] + declared if column not in columns -%}
        {{ return(false) }}
    {%- endfor -%}
    {{ return(true) }}
{%- endmacro %}

{#
    The partition values (column `partition_column`) of the rows each of `inputs` (model names)
    rebuilt after this model's latest rebuilt_at: the partitions an incremental run of a model
    built from those inputs recomputes. The body of a `days_to_rebuild as (...)` CTE.
#}
{% macro partitions_rebuilt_in(inputs, partition_column='event_date') -%}
    {%- for input in inputs %}
    select rebuilt_input.{{ partition_column }}
    from {{ ref(input) }} as rebuilt_input
    where rebuilt_input.rebuilt_at > {{ last_rebuilt_at() }}
    {%- if not loop.last %}
    union
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
