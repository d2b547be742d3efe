{#
    The raw lake's files as dbt sources, per engine. Run as an on-run-start hook (dbt_project.yml).

    DuckDB reads the files directly: every lake source carries meta.external_location (a
    dbt-duckdb feature), so there is nothing to create.

    Spark needs a table in its catalog: one external table per source that declares `meta.lake`
    ({path: <relative to the lake root>, format: parquet|json}); for json the schema comes from the
    source's columns and their data_type. Parquet tables take their schema from the files and
    discover hive-style partitions (event_date=...) from the directory names when they are read. The lake root is
    $LLM_MARGIN_LAKE_URI when set (s3a://..., abfss://... on a cluster), else
    $LLM_MARGIN_DATA_DIR/lake. Tables are created once; every run then drops cached file listings
    (refresh table), so files and partitions landed since the last run are seen.
#}

{% macro create_lake_sources() -%}
    {{ return(adapter.dispatch('create_lake_sources', 'llm_margin')()) }}
{%- endmacro %}

{% macro default__create_lake_sources() -%}
{%- endmacro %}

{% macro lake_root() -%}
    {{ return(env_var('LLM_MARGIN_LAKE_URI', env_var('LLM_MARGIN_DATA_DIR', 'data') ~ '/lake') | trim | replace('\\', '/')) }}
{%- endmacro %}

{# The lake sources: [(relation, meta.lake, columns)] for every source that declares meta.lake. #}
{% macro lake_sources() -%}
    {%- set found = [] -%}
    {%- if execute -%}
        {%- for node in graph.sources.values() -%}
            {%- set lake = node.config.get('meta', {}).get('lake') or node.meta.get('lake') -%}
            {%- if lake -%}
                {%- set relation = api.Relation.create(schema=node.schema, identifier=node.identifier) -%}
                {%- do found.append((relation, lake, node.columns.values() | list)) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}

{# A source column's data_type in Spark's words (sources are documented in portable names). #}
{% macro spark__lake_column_type(data_type) -%}
    {%- set spark_types = {'varchar': 'string', 'text': 'string', 'json': 'string', 'timestamptz': 'timestamp'} -%}
    {{ return(spark_types.get(data_type | lower, data_type)) }}
{%- endmacro %}

{% macro spark__create_lake_sources() -%}
    {%- for relation, lake, columns in lake_sources() -%}
        {%- set location = lake_root() ~ '/' ~ lake['path'] -%}
        {%- do run_query('create schema if not exists ' ~ relation.schema) -%}
        {%- set create_table -%}
            create table if not exists {{ relation }}
            {%- if lake['format'] == 'json' %}
            (
                {%- for column in columns %}
                {{ column.name }} {{ spark__lake_column_type(column.data_type) }}{{ ',' if not loop.last }}
                {%- endfor %}
            )
            {%- endif %}
            using {{ lake['format'] }}
            {%- if lake['format'] == 'json' %}
            options (pathGlobFilter '*.json')
            {%- endif %}
            location '{{ location }}'
        {%- endset -%}
        {%- do run_query(create_table) -%}
        {%- do run_query('refresh table ' ~ relation) -%}
    {%- endfor -%}
{%- endmacro %}
