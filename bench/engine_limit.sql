-- The engine's limit: ONE hand-written DuckDB statement from the landing files to the numbers the
-- pipeline's marts hold (per-call cost, per-task cost, per-customer daily cost). No lake, no
-- staging tables, no dbt: what DuckDB itself costs for the same work. bench/engine_limit.py fills
-- in the {{...}} placeholders (file lists, the run clock) and runs it.
--
-- What it reproduces, by hand (see docs/usage-events.md, docs/pricing.md, docs/tasks.md):
--   * every landing format (JSON Lines plain/gzip, CSV, Parquet) read as JSON objects, and the
--     contract's record rules (types, required fields, enums, ranges, cross-field rules, task tags
--     on first attempts) so the records ingestion would quarantine are dropped;
--   * dedupe per event_id: latest emitted_at, ties -> the final (non in_progress) record;
--   * price in force at occurred_at from the catalog rules file in landing/pricing: highest-ranked
--     standard rule set in force (start date, UTC time-of-day window), a batch/flex/priority
--     variant in force replaces a component, cliff tiers on input tokens, token classes billed once;
--   * task = task_id, else the chain of parent_event_id up to its first attempt (at most
--     {{max_chain_depth}} deep), else the call itself; the task's customer is its first attempt's;
--   * per customer and day (UTC date of occurred_at) the summed cost.
-- Model-name resolution (dated snapshots, aliases) is the catalog's matching code, not data: it
-- comes in as a small table {{resolutions}} of (raw provider, raw model) -> catalog model.
-- Returns one row per customer-day (kind 'customer_day') plus one 'total' row.

with recursive

records as (
    -- every field as a JSON value, whatever the file format (CSV cells are JSON strings)
    select
        event_id, emitted_at, occurred_at, customer_id, workspace_id, feature, user_id, task_id,
        parent_event_id, attempt, provider, model, route, fallback_from_route, service_tier,
        prompt_tokens, cached_prompt_tokens, cache_write_tokens, completion_tokens,
        reasoning_tokens, retries, latency_ms, status, outcome,
        filename as source_file,
        false as numbers_as_text
    from {{jsonl_source}}
    union all
    select
        to_json(c.event_id) as event_id, to_json(c.emitted_at) as emitted_at,
        to_json(c.occurred_at) as occurred_at, to_json(c.customer_id) as customer_id,
        to_json(c.workspace_id) as workspace_id, to_json(c.feature) as feature,
        to_json(c.user_id) as user_id, to_json(c.task_id) as task_id,
        to_json(c.parent_event_id) as parent_event_id, to_json(c.attempt) as attempt,
        to_json(c.provider) as provider, to_json(c.model) as model, to_json(c.route) as route,
        to_json(c.fallback_from_route) as fallback_from_route,
        to_json(c.service_tier) as service_tier, to_json(c.prompt_tokens) as prompt_tokens,
        to_json(c.cached_prompt_tokens) as cached_prompt_tokens,
        to_json(c.cache_write_tokens) as cache_write_tokens,
        to_json(c.completion_tokens) as completion_tokens,
        to_json(c.reasoning_tokens) as reasoning_tokens, to_json(c.retries) as retries,
        to_json(c.latency_ms) as latency_ms, to_json(c.status) as status,
        to_json(c.outcome) as outcome,
        c.filename as source_file,
        true as numbers_as_text
    from {{csv_source}} as c
    union all
    select
        to_json(p.event_id) as event_id, to_json(p.emitted_at) as emitted_at,
        to_json(p.occurred_at) as occurred_at, to_json(p.customer_id) as customer_id,
        to_json(p.workspace_id) as workspace_id, to_json(p.feature) as feature,
        to_json(p.user_id) as user_id, to_json(p.task_id) as task_id,
        to_json(p.parent_event_id) as parent_event_id, to_json(p.attempt) as attempt,
        to_json(p.provider) as provider, to_json(p.model) as model, to_json(p.route) as route,
        to_json(p.fallback_from_route) as fallback_from_route,
        to_json(p.service_tier) as service_tier, to_json(p.prompt_tokens) as prompt_tokens,
        to_json(p.cached_prompt_tokens) as cached_prompt_tokens,
        to_json(p.cache_write_tokens) as cache_write_tokens,
        to_json(p.completion_tokens) as completion_tokens,
        to_json(p.reasoning_tokens) as reasoning_tokens, to_json(p.retries) as retries,
        to_json(p.latency_ms) as latency_ms, to_json(p.status) as status,
        to_json(p.outcome) as outcome,
        p.filename as source_file,
        false as numbers_as_text
    from {{parquet_source}} as p
),
fields as (
    -- t_<field>: the JSON type of the value (NULL for a JSON null, null when absent); s_<field>: its text
    select
        source_file,
        numbers_as_text,
        json_type(event_id) as t_event_id, event_id ->> '$' as s_event_id,
        json_type(emitted_at) as t_emitted_at, emitted_at ->> '$' as s_emitted_at,
        json_type(occurred_at) as t_occurred_at, occurred_at ->> '$' as s_occurred_at,
        json_type(customer_id) as t_customer_id, customer_id ->> '$' as s_customer_id,
        json_type(workspace_id) as t_workspace_id, workspace_id ->> '$' as s_workspace_id,
        json_type(feature) as t_feature, feature ->> '$' as s_feature,
        json_type(user_id) as t_user_id, user_id ->> '$' as s_user_id,
        json_type(task_id) as t_task_id, task_id ->> '$' as s_task_id,
        json_type(parent_event_id) as t_parent_event_id, parent_event_id ->> '$' as s_parent_event_id,
        json_type(attempt) as t_attempt, attempt ->> '$' as s_attempt,
        json_type(provider) as t_provider, provider ->> '$' as s_provider,
        json_type(model) as t_model, model ->> '$' as s_model,
        json_type(route) as t_route, route ->> '$' as s_route,
        json_type(fallback_from_route) as t_fallback_from_route, fallback_from_route ->> '$' as s_fallback_from_route,
        json_type(service_tier) as t_service_tier, service_tier ->> '$' as s_service_tier,
        json_type(prompt_tokens) as t_prompt_tokens, prompt_tokens ->> '$' as s_prompt_tokens,
        json_type(cached_prompt_tokens) as t_cached_prompt_tokens, cached_prompt_tokens ->> '$' as s_cached_prompt_tokens,
        json_type(cache_write_tokens) as t_cache_write_tokens, cache_write_tokens ->> '$' as s_cache_write_tokens,
        json_type(completion_tokens) as t_completion_tokens, completion_tokens ->> '$' as s_completion_tokens,
        json_type(reasoning_tokens) as t_reasoning_tokens, reasoning_tokens ->> '$' as s_reasoning_tokens,
        json_type(retries) as t_retries, retries ->> '$' as s_retries,
        json_type(latency_ms) as t_latency_ms, latency_ms ->> '$' as s_latency_ms,
        json_type(status) as t_status, status ->> '$' as s_status,
        json_type(outcome) as t_outcome, outcome ->> '$' as s_outcome
    from records
),
typed as (
    -- whole numbers: JSON integers (or whole doubles); in CSV, text that parses as one
    select
        fields.*,
        try_cast(trim(s_emitted_at) as timestamptz) as emitted_ts,
        try_cast(trim(s_occurred_at) as timestamptz) as occurred_ts,
        case
            when coalesce(t_attempt, 'NULL') = 'NULL' then null
            when numbers_as_text then case when regexp_full_match(trim(s_attempt), '[+-]?[0-9]+') then try_cast(trim(s_attempt) as bigint) end
            when t_attempt in ('UBIGINT', 'BIGINT') then try_cast(s_attempt as bigint)
            when t_attempt = 'DOUBLE' and try_cast(s_attempt as double) = floor(try_cast(s_attempt as double))
                then try_cast(try_cast(s_attempt as double) as bigint)
        end as n_attempt,
        case
            when coalesce(t_prompt_tokens, 'NULL') = 'NULL' then null
            when numbers_as_text then case when regexp_full_match(trim(s_prompt_tokens), '[+-]?[0-9]+') then try_cast(trim(s_prompt_tokens) as bigint) end
            when t_prompt_tokens in ('UBIGINT', 'BIGINT') then try_cast(s_prompt_tokens as bigint)
            when t_prompt_tokens = 'DOUBLE' and try_cast(s_prompt_tokens as double) = floor(try_cast(s_prompt_tokens as double))
                then try_cast(try_cast(s_prompt_tokens as double) as bigint)
        end as n_prompt_tokens,
        case
            when coalesce(t_cached_prompt_tokens, 'NULL') = 'NULL' then null
            when numbers_as_text then case when regexp_full_match(trim(s_cached_prompt_tokens), '[+-]?[0-9]+') then try_cast(trim(s_cached_prompt_tokens) as bigint) end
            when t_cached_prompt_tokens in ('UBIGINT', 'BIGINT') then try_cast(s_cached_prompt_tokens as bigint)
            when t_cached_prompt_tokens = 'DOUBLE' and try_cast(s_cached_prompt_tokens as double) = floor(try_cast(s_cached_prompt_tokens as double))
                then try_cast(try_cast(s_cached_prompt_tokens as double) as bigint)
        end as n_cached_prompt_tokens,
        case
            when coalesce(t_cache_write_tokens, 'NULL') = 'NULL' then null
            when numbers_as_text then case when regexp_full_match(trim(s_cache_write_tokens), '[+-]?[0-9]+') then try_cast(trim(s_cache_write_tokens) as bigint) end
            when t_cache_write_tokens in ('UBIGINT', 'BIGINT') then try_cast(s_cache_write_tokens as bigint)
            when t_cache_write_tokens = 'DOUBLE' and try_cast(s_cache_write_tokens as double) = floor(try_cast(s_cache_write_tokens as double))
                then try_cast(try_cast(s_cache_write_tokens as double) as bigint)
        end as n_cache_write_tokens,
        case
            when coalesce(t_completion_tokens, 'NULL') = 'NULL' then null
            when numbers_as_text then case when regexp_full_match(trim(s_completion_tokens), '[+-]?[0-9]+') then try_cast(trim(s_completion_tokens) as bigint) end
            when t_completion_tokens in ('UBIGINT', 'BIGINT') then try_cast(s_completion_tokens as bigint)
            when t_completion_tokens = 'DOUBLE' and try_cast(s_completion_tokens as double) = floor(try_cast(s_completion_tokens as double))
                then try_cast(try_cast(s_completion_tokens as double) as bigint)
        end as n_completion_tokens,
        case
            when coalesce(t_reasoning_tokens, 'NULL') = 'NULL' then null
            when numbers_as_text then case when regexp_full_match(trim(s_reasoning_tokens), '[+-]?[0-9]+') then try_cast(trim(s_reasoning_tokens) as bigint) end
            when t_reasoning_tokens in ('UBIGINT', 'BIGINT') then try_cast(s_reasoning_tokens as bigint)
            when t_reasoning_tokens = 'DOUBLE' and try_cast(s_reasoning_tokens as double) = floor(try_cast(s_reasoning_tokens as double))
                then try_cast(try_cast(s_reasoning_tokens as double) as bigint)
        end as n_reasoning_tokens,
        case
            when coalesce(t_retries, 'NULL') = 'NULL' then null
            when numbers_as_text then case when regexp_full_match(trim(s_retries), '[+-]?[0-9]+') then try_cast(trim(s_retries) as bigint) end
            when t_retries in ('UBIGINT', 'BIGINT') then try_cast(s_retries as bigint)
            when t_retries = 'DOUBLE' and try_cast(s_retries as double) = floor(try_cast(s_retries as double))
                then try_cast(try_cast(s_retries as double) as bigint)
        end as n_retries,
        case
            when coalesce(t_latency_ms, 'NULL') = 'NULL' then null
            when numbers_as_text then case when regexp_full_match(trim(s_latency_ms), '[+-]?[0-9]+') then try_cast(trim(s_latency_ms) as bigint) end
            when t_latency_ms in ('UBIGINT', 'BIGINT') then try_cast(s_latency_ms as bigint)
            when t_latency_ms = 'DOUBLE' and try_cast(s_latency_ms as double) = floor(try_cast(s_latency_ms as double))
                then try_cast(try_cast(s_latency_ms as double) as bigint)
        end as n_latency_ms
    from fields
),
checked as (
    -- is_valid: the record passes the contract's rules (else ingestion quarantines it). A column,
    -- not a WHERE: a filter here would be pushed into `typed` and re-evaluate its expressions
    -- once per reference
    select
        source_file,
        trim(s_event_id) as event_id,
        (coalesce(emitted_ts, occurred_ts) at time zone 'UTC') as emitted_at,
        (occurred_ts at time zone 'UTC') as occurred_at,
        nullif(trim(s_customer_id), '') as customer_id,
        nullif(trim(s_task_id), '') as task_id,
        nullif(trim(s_parent_event_id), '') as parent_event_id,
        n_attempt as attempt,
        lower(trim(s_provider)) as provider,
        trim(s_model) as model,
        coalesce(lower(nullif(trim(s_service_tier), '')), 'standard') as service_tier,
        coalesce(n_prompt_tokens, 0) as prompt_tokens,
        coalesce(n_cached_prompt_tokens, 0) as cached_prompt_tokens,
        coalesce(n_cache_write_tokens, 0) as cache_write_tokens,
        coalesce(n_completion_tokens, 0) as completion_tokens,
        coalesce(n_reasoning_tokens, 0) as reasoning_tokens,
        coalesce(lower(nullif(trim(s_status), '')), 'success') as received_status,
        coalesce((
            -- string fields hold a JSON string or null
            coalesce(t_event_id, 'VARCHAR') in ('VARCHAR', 'NULL')
            and coalesce(t_customer_id, 'VARCHAR') in ('VARCHAR', 'NULL')
            and coalesce(t_workspace_id, 'VARCHAR') in ('VARCHAR', 'NULL')
            and coalesce(t_feature, 'VARCHAR') in ('VARCHAR', 'NULL')
            and coalesce(t_user_id, 'VARCHAR') in ('VARCHAR', 'NULL')
            and coalesce(t_task_id, 'VARCHAR') in ('VARCHAR', 'NULL')
            and coalesce(t_parent_event_id, 'VARCHAR') in ('VARCHAR', 'NULL')
            and coalesce(t_provider, 'VARCHAR') in ('VARCHAR', 'NULL')
            and coalesce(t_model, 'VARCHAR') in ('VARCHAR', 'NULL')
            and coalesce(t_route, 'VARCHAR') in ('VARCHAR', 'NULL')
            and coalesce(t_fallback_from_route, 'VARCHAR') in ('VARCHAR', 'NULL')
            and coalesce(t_service_tier, 'VARCHAR') in ('VARCHAR', 'NULL')
            and coalesce(t_status, 'VARCHAR') in ('VARCHAR', 'NULL')
            and coalesce(t_outcome, 'VARCHAR') in ('VARCHAR', 'NULL')
            -- required: event_id, occurred_at, provider, model present and not blank
            and not coalesce(t_event_id, 'NULL') = 'NULL' and not (t_event_id = 'VARCHAR' and trim(s_event_id) = '')
            and not coalesce(t_occurred_at, 'NULL') = 'NULL' and not (t_occurred_at = 'VARCHAR' and trim(s_occurred_at) = '')
            and not coalesce(t_provider, 'NULL') = 'NULL' and not (t_provider = 'VARCHAR' and trim(s_provider) = '')
            and not coalesce(t_model, 'NULL') = 'NULL' and not (t_model = 'VARCHAR' and trim(s_model) = '')
            -- timestamps: strings that parse (when not blank), from 2015 to the run clock + 24 hours
            and (coalesce(t_emitted_at, 'NULL') = 'NULL' or (t_emitted_at = 'VARCHAR' and (trim(s_emitted_at) = '' or emitted_ts is not null)))
            and (emitted_ts is null or emitted_ts between timestamptz '2015-01-01 00:00:00+00' and timestamptz '{{now_utc}}' + interval 24 hours)
            and (coalesce(t_occurred_at, 'NULL') = 'NULL' or (t_occurred_at = 'VARCHAR' and (trim(s_occurred_at) = '' or occurred_ts is not null)))
            and (occurred_ts is null or occurred_ts between timestamptz '2015-01-01 00:00:00+00' and timestamptz '{{now_utc}}' + interval 24 hours)
            -- whole numbers where present; attempt >= 1, the rest >= 0, token counts <= 10M
            and (coalesce(t_attempt, 'NULL') = 'NULL' or n_attempt is not null) and coalesce(n_attempt >= 1, true)
            and (coalesce(t_prompt_tokens, 'NULL') = 'NULL' or n_prompt_tokens is not null) and coalesce(n_prompt_tokens between 0 and 10000000, true)
            and (coalesce(t_cached_prompt_tokens, 'NULL') = 'NULL' or n_cached_prompt_tokens is not null) and coalesce(n_cached_prompt_tokens between 0 and 10000000, true)
            and (coalesce(t_cache_write_tokens, 'NULL') = 'NULL' or n_cache_write_tokens is not null) and coalesce(n_cache_write_tokens between 0 and 10000000, true)
            and (coalesce(t_completion_tokens, 'NULL') = 'NULL' or n_completion_tokens is not null) and coalesce(n_completion_tokens between 0 and 10000000, true)
            and (coalesce(t_reasoning_tokens, 'NULL') = 'NULL' or n_reasoning_tokens is not null) and coalesce(n_reasoning_tokens between 0 and 10000000, true)
            and (coalesce(t_retries, 'NULL') = 'NULL' or n_retries is not null) and coalesce(n_retries >= 0, true)
            and (coalesce(t_latency_ms, 'NULL') = 'NULL' or n_latency_ms is not null) and coalesce(n_latency_ms >= 0, true)
            -- enums (case-insensitive)
            and (t_service_tier is distinct from 'VARCHAR' or lower(trim(s_service_tier)) in ('standard', 'batch', 'flex', 'priority'))
            and (t_status is distinct from 'VARCHAR' or lower(trim(s_status)) in ('in_progress', 'success', 'error', 'timeout', 'rate_limited', 'invalid_output', 'cancelled'))
            and (t_outcome is distinct from 'VARCHAR' or lower(trim(s_outcome)) in ('accepted', 'rejected', 'failed', 'abandoned'))
            -- cross-field rules; a final record carries its token counts
            and coalesce(coalesce(n_cached_prompt_tokens, 0) + coalesce(n_cache_write_tokens, 0) <= n_prompt_tokens, true)
            and coalesce(n_reasoning_tokens <= n_completion_tokens, true)
            and not (coalesce(lower(trim(s_status)), 'success') <> 'in_progress' and n_prompt_tokens is null and coalesce(t_prompt_tokens, 'NULL') = 'NULL')
            and not (coalesce(lower(trim(s_status)), 'success') <> 'in_progress' and n_completion_tokens is null and coalesce(t_completion_tokens, 'NULL') = 'NULL')
            -- a task's first attempt carries customer, workspace and feature
            and not (
                s_parent_event_id is null and coalesce(n_attempt, 1) = 1
                and (coalesce(trim(s_customer_id), '') = '' or coalesce(trim(s_workspace_id), '') = '' or coalesce(trim(s_feature), '') = '')
            )
        ), false) as is_valid
    from typed
),

calls as (
    -- dedupe among the valid versions: a valid one always ranks first, so an event whose best
    -- version is invalid has no valid version at all
    select *
    from (
        select
            checked.*,
            cast(occurred_at as date) as event_date,
            extract(epoch from occurred_at - date_trunc('day', occurred_at)) as second_of_day
        from checked
        qualify row_number() over (
            partition by event_id
            order by
                is_valid desc,
                emitted_at desc,
                case when received_status = 'in_progress' then 1 else 0 end,
                source_file
        ) = 1
    ) as latest
    where is_valid
),

price_rules as (
    select
        provider_id,
        model_id,
        rule_kind,
        rule_rank,
        context_key,
        context_value,
        cast(valid_from as date) as valid_from,
        case when tod_start is not null then
            cast(substr(tod_start, 1, 2) as integer) * 3600 + cast(substr(tod_start, 4, 2) as integer) * 60
            + cast(substr(tod_start, 7, 2) as integer) end as tod_start_second,
        case when tod_end is not null then
            cast(substr(tod_end, 1, 2) as integer) * 3600 + cast(substr(tod_end, 4, 2) as integer) * 60
            + cast(substr(tod_end, 7, 2) as integer) end as tod_end_second,
        price_key,
        usage_key,
        tier_start,
        cast(usd_per_unit as decimal(20, 12)) as usd_per_unit
    from read_json('{{rules_file}}', format = 'newline_delimited', columns = {
        provider_id: 'varchar', model_id: 'varchar', rule_kind: 'varchar', rule_rank: 'bigint',
        context_key: 'varchar', context_value: 'varchar', valid_from: 'varchar', tod_start: 'varchar',
        tod_end: 'varchar', price_key: 'varchar', usage_key: 'varchar', tier_start: 'bigint',
        usd_per_unit: 'varchar'
    })
),

calls_resolved as (
    select
        calls.event_id,
        calls.event_date,
        calls.second_of_day,
        calls.prompt_tokens,
        resolutions.price_provider_id,
        resolutions.price_model_id,
        coalesce(resolutions.is_context_priced, true) as is_context_priced,
        case when calls.service_tier = 'batch' then 'processing'
            when calls.service_tier in ('flex', 'priority') then 'service_tier' end as context_key,
        case when calls.service_tier = 'batch' then 'batch'
            when calls.service_tier in ('flex', 'priority') then calls.service_tier end as context_value
    from calls
    left join {{resolutions}} as resolutions
        on calls.provider = resolutions.raw_provider and calls.model = resolutions.raw_model
),

rules_in_force as (
    select
        c.event_id,
        c.prompt_tokens,
        r.rule_kind,
        r.rule_rank,
        r.price_key,
        r.usage_key,
        r.tier_start,
        r.usd_per_unit,
        max(case when r.rule_kind = 'standard' then r.rule_rank end) over (partition by c.event_id) as standard_rank,
        min(case when r.rule_kind = 'variant' then r.rule_rank end) over (partition by c.event_id, r.price_key) as variant_rank
    from calls_resolved as c
    inner join price_rules as r
        on c.price_provider_id = r.provider_id and c.price_model_id = r.model_id
    where (r.valid_from is null or c.event_date >= r.valid_from)
        and (
            r.tod_start_second is null
            or (r.tod_start_second <= r.tod_end_second and c.second_of_day >= r.tod_start_second and c.second_of_day < r.tod_end_second)
            or (r.tod_start_second > r.tod_end_second and (c.second_of_day >= r.tod_start_second or c.second_of_day < r.tod_end_second))
        )
        and (
            r.rule_kind = 'standard'
            or (r.context_key = c.context_key and r.context_value = c.context_value and c.is_context_priced)
        )
),

tiers as (
    -- per component: the variant in force, else the standard set in force; the highest tier whose
    -- threshold the input tokens exceed (cliff)
    select event_id, usage_key, usd_per_unit
    from rules_in_force
    where (
            (rule_kind = 'variant' and rule_rank = variant_rank)
            or (rule_kind = 'standard' and rule_rank = standard_rank and variant_rank is null)
        )
        and (tier_start is null or prompt_tokens > tier_start)
    qualify row_number() over (partition by event_id, price_key order by coalesce(tier_start, -1) desc) = 1
),

prices as (
    select
        event_id,
        max(case when usage_key = 'input_tokens' then usd_per_unit end) as input_price,
        max(case when usage_key = 'cache_read_tokens' then usd_per_unit end) as cache_read_price,
        max(case when usage_key = 'cache_write_tokens' then usd_per_unit end) as cache_write_price,
        max(case when usage_key = 'output_tokens' then usd_per_unit end) as output_price,
        max(case when usage_key = 'output_reasoning_tokens' then usd_per_unit end) as reasoning_price,
        max(case when usage_key = 'requests' then usd_per_unit end) as request_price
    from tiers
    group by event_id
),

call_costs as (
    select
        calls.event_id,
        calls.customer_id,
        calls.task_id,
        calls.parent_event_id,
        calls.occurred_at,
        calls.attempt,
        calls.event_date,
        case when p.input_price is not null or p.output_price is not null then
            cast(coalesce(cast(calls.prompt_tokens
                - case when p.cache_read_price is not null then calls.cached_prompt_tokens else 0 end
                - case when p.cache_write_price is not null then calls.cache_write_tokens else 0 end
                as decimal(15, 0)) * p.input_price, 0) / 1000000 as decimal(24, 12))
            + cast(coalesce(cast(calls.cached_prompt_tokens as decimal(15, 0)) * p.cache_read_price, 0) / 1000000 as decimal(24, 12))
            + cast(coalesce(cast(calls.cache_write_tokens as decimal(15, 0)) * p.cache_write_price, 0) / 1000000 as decimal(24, 12))
            + cast(coalesce(cast(calls.completion_tokens
                - case when p.reasoning_price is not null then calls.reasoning_tokens else 0 end
                as decimal(15, 0)) * p.output_price, 0) / 1000000 as decimal(24, 12))
            + cast(coalesce(cast(calls.reasoning_tokens as decimal(15, 0)) * p.reasoning_price, 0) / 1000000 as decimal(24, 12))
            + cast(coalesce(p.request_price, 0) / 1000 as decimal(24, 12))
        end as cost_usd
    from calls
    left join prices as p on calls.event_id = p.event_id
),

links as (
    -- a call without task_id continues the chain of the call it retries or falls back from
    select c.event_id, case when c.task_id is null then parents.event_id end as parent_in_chain
    from call_costs as c
    left join call_costs as parents on c.parent_event_id = parents.event_id
),

chains as (
    select event_id, event_id as root_event_id, 0 as depth
    from links
    where parent_in_chain is null
    union all
    select links.event_id, chains.root_event_id, chains.depth + 1
    from links
    inner join chains on links.parent_in_chain = chains.event_id
    where chains.depth < {{max_chain_depth}}
),

attempts as (
    select
        c.*,
        coalesce(roots.task_id, roots.event_id) as task_key
    from call_costs as c
    left join chains on c.event_id = chains.event_id
    inner join call_costs as roots on coalesce(chains.root_event_id, c.event_id) = roots.event_id
),

attributed as (
    select
        attempts.task_key,
        attempts.event_date,
        attempts.cost_usd,
        coalesce(
            first_value(attempts.customer_id) over (
                partition by attempts.task_key
                order by attempts.occurred_at, coalesce(attempts.attempt, 1), attempts.event_id
                rows between unbounded preceding and unbounded following
            ),
            attempts.customer_id
        ) as customer_id
    from attempts
),

task_costs as (
    select task_key, sum(cost_usd) as task_cost_usd
    from attributed
    group by task_key
),

customer_days as (
    select customer_id, event_date, count(*) as calls, count(cost_usd) as priced_calls, sum(cost_usd) as cost_usd
    from attributed
    group by customer_id, event_date
)

select 'customer_day' as kind, customer_id, event_date, calls, priced_calls, null::bigint as tasks,
    cost_usd, null::decimal(38, 12) as task_cost_usd
from customer_days
union all
select 'total', null, null,
    (select sum(calls) from customer_days), (select sum(priced_calls) from customer_days),
    count(*), (select sum(cost_usd) from customer_days), sum(task_cost_usd)
from task_costs
