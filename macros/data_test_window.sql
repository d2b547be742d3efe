{#
    Data tests on an incremental run see only the days it rebuilt (DECISIONLOG.md "Data tests on
    an incremental run"); on a full build, on --full-refresh and in CI they see whole tables.

    The tests of the tables that grow with events (staging events, pricing cases and priced
    calls, chained attempts, fct_llm_calls, fct_tasks) carry a `where` config with the placeholder
    __first_rebuilt_day__, in their yml: "event_date >= __first_rebuilt_day__" (task_date for the
    task-grain tables). dbt renders `where` when it parses, where project macros cannot run (dbt
    docs, "where": "Custom logic"), so the placeholder is filled in when the test is compiled, by
    get_where_subquery below:
    - on an incremental run it becomes the first day the run rebuilt, a date literal;
    - otherwise the whole `where` is dropped: the test reads the table itself, exactly as without
      the config (its compiled SQL has no filter).

    The first rebuilt day comes from int_llm_calls_priced, whose days to reprice
    (pricing_days_to_rebuild, macros/rebuild_window.sql) are where every incremental model above
    staging starts from: the days of the events staging re-derived, the days those events were in
    before, the days a run was asked to rebuild (rebuild_from/rebuild_to), every day after a new
    pricing file. A task re-chained because of a rebuilt day keeps its task_date, which can be
    earlier: its rows are checked by the next full build and in CI, not by the incremental run.

    Whole tables, instead, on a first build (nothing to compare with), after a new pricing file
    (every day is repriced), on --full-refresh, and with LLM_MARGIN_DATA_TESTS=whole_table on any
    run: the pytest suite sets it, so make test and CI read whole tables (tests/conftest.py).
#}

{# A model's relation in the warehouse, by the graph (a test may only ref() what it depends on). #}
{% macro built_model_relation(model_name) -%}
    {%- set node = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
        | selectattr('name', 'equalto', model_name) | first -%}
    {{ return(adapter.get_relation(node.database, node.schema, node.alias or node.name)) }}
{%- endmacro %}

{#
    The first day the current incremental build rebuilds, as a SQL date literal, or none when the
    tests must read whole tables. A few aggregate queries when a test is compiled, never at parse
    time. int_llm_calls_priced tells, and a test can run before or after it is rebuilt in the
    same `dbt build`:
    - before (the tests of staging and of the pricing cases): staging holds events ingested after
      the priced calls' watermark. The run reprices their days, from the first of them; every day
      if the pricing file loaded last is not the one the calls were priced with (whole tables);
    - after: the days it rewrote in its latest build, from the first of them; whole tables when
      that build rewrote every row.
    The days a run was asked to rebuild (vars rebuild_from/rebuild_to) are in the window too.
#}
{% macro first_rebuilt_day() -%}
    {%- if not execute or flags.FULL_REFRESH -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set scope = env_var('LLM_MARGIN_DATA_TESTS', 'rebuilt_days') | trim | lower -%}
    {%- if scope == 'whole_table' -%}
        {{ return(none) }}
    {%- elif scope != 'rebuilt_days' -%}
        {{ exceptions.raise_compiler_error(
            "LLM_MARGIN_DATA_TESTS must be 'rebuilt_days' (the default: data tests on an "
            ~ "incremental run read only the days it rebuilt) or 'whole_table', got '" ~ scope ~ "'"
        ) }}
    {%- endif -%}
    {%- set priced = built_model_relation('int_llm_calls_priced') -%}
    {%- set events = built_model_relation('stg_usage__events') -%}
    {%- set price_rules = built_model_relation('int_price_rules_by_state') -%}
    {%- if priced is none or events is none or price_rules is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set latest_build_query -%}
        select
            min(case when priced.rebuilt_at = latest.rebuilt_at then priced.event_date end) as first_day,
            sum(case when priced.rebuilt_at = latest.rebuilt_at then 0 else 1 end) as rows_kept,
            max(latest.price_load_sequence) as price_load_sequence
        from {{ priced }} as priced
        cross join (
            select
                max(built.rebuilt_at) as rebuilt_at,
                max(built.price_load_sequence) as price_load_sequence
            from {{ priced }} as built
        ) as latest
    {%- endset -%}
    {%- set latest_build = run_query(latest_build_query).rows[0] -%}
    {%- if latest_build[0] is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set pending_query -%}
        select
            min(events.event_date) as first_day,
            (
                select max(price_rules.load_sequence)
                from {{ price_rules }} as price_rules
                where price_rules.price_state = 'current'
            ) as price_load_sequence
        from {{ events }} as events
        where events.last_ingested_at > (select max(priced.last_ingested_at) from {{ priced }} as priced)
    {%- endset -%}
    {%- set pending = run_query(pending_query).rows[0] -%}
    {%- if pending[0] is not none -%}
        {#- before int_llm_calls_priced is rebuilt: the days of the new events -#}
        {%- if (pending[1] if pending[1] is not none else -1) != (latest_build[2] if latest_build[2] is not none else -1) -%}
            {{ return(none) }}
        {%- endif -%}
        {%- set days = [(pending[0] | string)[:10]] -%}
    {%- elif (latest_build[1] or 0) == 0 -%}
        {#- its latest build rewrote every row: a first build, a new pricing file -#}
        {{ return(none) }}
    {%- else -%}
        {%- set days = [(latest_build[0] | string)[:10]] -%}
    {%- endif -%}
    {%- if var('rebuild_from', none) -%}
        {%- do days.append(var('rebuild_from') | string) -%}
        {%- do days.append(var('rebuild_to', var('rebuild_from')) | string) -%}
    {%- endif -%}
    {{ return("cast('" ~ (days | min) ~ "' as date)") }}
{%- endmacro %}

{#
    The rows a data test reads: dbt's own macro (dbt/include/global_project, where_subquery.sql),
    plus the placeholder above. A `where` without the placeholder is applied as dbt applies it.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__first_rebuilt_day__' in where -%}
        {%- set first_day = first_rebuilt_day() -%}
        {%- if first_day is none -%}
            {{ return(relation) }}
        {%- endif -%}
        {%- set where = where | replace('__first_rebuilt_day__', first_day) -%}
    {%- endif -%}
    {%- if where -%}
        {{ return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
