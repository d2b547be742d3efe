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

    The first rebuilt day comes from the pricing models' days to rebuild (pricing_days_to_rebuild,
    macros/rebuild_window.sql), where every incremental model above staging starts from: the days of the events staging re-derived, the days those events were in
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
    tests must read whole tables. One small query when a test is compiled (never at parse time)
    over int_pricing_cases_resolved, which rebuilds the same days as int_llm_calls_priced and is a
    few thousand rows a day where the calls are a million, and two columns of staging. A test can
    run before or after the pricing cases are rebuilt in the same `dbt build`:
    - before (the tests of staging): staging holds events ingested after the cases' watermark,
      the only ones it re-derived: the window starts at the first of their days;
    - after: the days the cases' latest build rewrote, from the first of them; whole tables when
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
    {%- set cases = built_model_relation('int_pricing_cases_resolved') -%}
    {%- set events = built_model_relation('stg_usage__events') -%}
    {%- if cases is none or events is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set window_query -%}
        select
            min(case when cases.rebuilt_at = latest.rebuilt_at then cases.event_date end) as first_day,
            sum(case when cases.rebuilt_at = latest.rebuilt_at then 0 else 1 end) as rows_kept,
            max(pending.first_day) as first_pending_day
        from {{ cases }} as cases
        cross join (
            select max(built.rebuilt_at) as rebuilt_at
            from {{ cases }} as built
        ) as latest
        cross join (
            select min(events.event_date) as first_day
            from {{ events }} as events
            where events.last_ingested_at > (select max(built.last_ingested_at) from {{ cases }} as built)
        ) as pending
    {%- endset -%}
    {%- set window = run_query(window_query).rows[0] -%}
    {%- if window[2] is not none -%}
        {#- staging holds events the pricing cases have not seen: the days of those events -#}
        {%- set days = [(window[2] | string)[:10]] -%}
    {%- elif window[0] is none or (window[1] or 0) == 0 -%}
        {#- the cases' latest build rewrote every row: a first build, a new pricing file -#}
        {{ return(none) }}
    {%- else -%}
        {%- set days = [(window[0] | string)[:10]] -%}
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
