{#
    The raw lake's files as dbt sources, per engine. Run as an on-run-start hook (dbt_project.yml).

    DuckDB reads the files directly: every lake source carries meta.external_location (a
    dbt-duckdb feature), so there is nothing to create.

    Spark needs a table in its catalog: one external table per source that declares `meta.lake`
    ({path: <relative to the lake root>, format: parquet|json}); for json, and for a parquet source
    marked `optional: true` (its folder may not exist yet), the schema comes from the source's
    columns and their data_type. Parquet tables take their schema from the files and
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
            {%- if lake['format'] == 'json' or lake.get('optional') %}
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

{#
    A lake source whose file may not exist yet (the scenario rules before any scenario is loaded,
    the call shapes before the plan calculator first runs): its rows, or no rows with the
    source's declared columns and types (each column's data_type in the source yml) when the
    file is absent, so a build on a fresh data directory does not fail. Checked when the model is
    built: use it in an ephemeral staging model, so the check runs again each time a model that
    reads it is built (a view would keep the answer of the build that created it).
    On Spark the source's table is declared with those columns (spark__create_lake_sources, lake
    option `optional: true`), so an absent folder reads as an empty table.
#}
{% macro optional_lake_source(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', source_name)
        | selectattr('name', 'equalto', table_name) | first if execute else none -%}
    {%- if not execute or lake_files_exist((node.config.get('meta', {}).get('lake') or node.meta.get('lake'))['path']) -%}
    select * from {{ relation }}
    {%- else -%}
    select
        {%- for column in node.columns.values() %}
        cast(null as {{ column.data_type }}) as {{ column.name }}{{ ',' if not loop.last }}
        {%- endfor %}
    where 1 = 0
    {%- endif -%}
{%- endmacro %}

{# Whether the lake holds a Parquet file under `path` (relative to the lake root). #}
{% macro lake_files_exist(path) -%}
    {{ return(adapter.dispatch('lake_files_exist', 'llm_margin')(path)) }}
{%- endmacro %}

{% macro default__lake_files_exist(path) -%}
    {# Spark: the source table always exists (declared columns); an absent folder reads as empty #}
    {{ return(true) }}
{%- endmacro %}

{% macro duckdb__lake_files_exist(path) -%}
    {%- set pattern = lake_root() ~ '/' ~ path ~ '/*.parquet' -%}
    {%- set found = run_query("select count(*) from glob('" ~ pattern ~ "')") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}
