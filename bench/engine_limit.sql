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
    select json as j, filename as source_file, false as numbers_as_text
    from {{jsonl_source}}
    union all
    select to_json(c) as j, c.filename as source_file, true as numbers_as_text
    from {{csv_source}} as c
    union all
    select to_json(p) as j, p.filename as source_file, false as numbers_as_text
    from {{parquet_source}} as p
),

objects as (
    select
        source_file,
        numbers_as_text,
        json_type(j, [
            '$.event_id', '$.emitted_at', '$.occurred_at', '$.customer_id', '$.workspace_id',
            '$.feature', '$.user_id', '$.task_id', '$.parent_event_id', '$.attempt', '$.provider',
            '$.model', '$.route', '$.fallback_from_route', '$.service_tier', '$.prompt_tokens',
            '$.cached_prompt_tokens', '$.cache_write_tokens', '$.completion_tokens',
            '$.reasoning_tokens', '$.retries', '$.latency_ms', '$.status', '$.outcome'
        ]) as t,
        json_extract_string(j, [
            '$.event_id', '$.emitted_at', '$.occurred_at', '$.customer_id', '$.workspace_id',
            '$.feature', '$.user_id', '$.task_id', '$.parent_event_id', '$.attempt', '$.provider',
            '$.model', '$.route', '$.fallback_from_route', '$.service_tier', '$.prompt_tokens',
            '$.cached_prompt_tokens', '$.cache_write_tokens', '$.completion_tokens',
            '$.reasoning_tokens', '$.retries', '$.latency_ms', '$.status', '$.outcome'
        ]) as s
    from records
    where json_type(j) = 'OBJECT'
),

-- list positions: 1 event_id, 2 emitted_at, 3 occurred_at, 4 customer_id, 5 workspace_id,
-- 6 feature, 7 user_id, 8 task_id, 9 parent_event_id, 10 attempt, 11 provider, 12 model, 13 route,
-- 14 fallback_from_route, 15 service_tier, 16 prompt_tokens, 17 cached_prompt_tokens,
-- 18 cache_write_tokens, 19 completion_tokens, 20 reasoning_tokens, 21 retries, 22 latency_ms,
-- 23 status, 24 outcome
typed as (
    -- whole numbers: JSON integers (or whole doubles); in CSV, text that parses as one
    select
        source_file,
        t,
        s,
        try_cast(trim(s[2]) as timestamptz) as emitted_ts,
        try_cast(trim(s[3]) as timestamptz) as occurred_ts,
        case
            when coalesce(t[10], 'NULL') = 'NULL' then null
            when numbers_as_text then try_cast(trim(s[10]) as bigint)
            when t[10] in ('UBIGINT', 'BIGINT') then try_cast(s[10] as bigint)
            when t[10] = 'DOUBLE' and try_cast(s[10] as double) = floor(try_cast(s[10] as double))
                then try_cast(try_cast(s[10] as double) as bigint)
        end as attempt,
        case
            when coalesce(t[16], 'NULL') = 'NULL' then null
            when numbers_as_text then try_cast(trim(s[16]) as bigint)
            when t[16] in ('UBIGINT', 'BIGINT') then try_cast(s[16] as bigint)
            when t[16] = 'DOUBLE' and try_cast(s[16] as double) = floor(try_cast(s[16] as double))
                then try_cast(try_cast(s[16] as double) as bigint)
        end as prompt_tokens,
        case
            when coalesce(t[17], 'NULL') = 'NULL' then null
            when numbers_as_text then try_cast(trim(s[17]) as bigint)
            when t[17] in ('UBIGINT', 'BIGINT') then try_cast(s[17] as bigint)
            when t[17] = 'DOUBLE' and try_cast(s[17] as double) = floor(try_cast(s[17] as double))
                then try_cast(try_cast(s[17] as double) as bigint)
        end as cached_prompt_tokens,
        case
            when coalesce(t[18], 'NULL') = 'NULL' then null
            when numbers_as_text then try_cast(trim(s[18]) as bigint)
            when t[18] in ('UBIGINT', 'BIGINT') then try_cast(s[18] as bigint)
            when t[18] = 'DOUBLE' and try_cast(s[18] as double) = floor(try_cast(s[18] as double))
                then try_cast(try_cast(s[18] as double) as bigint)
        end as cache_write_tokens,
        case
            when coalesce(t[19], 'NULL') = 'NULL' then null
            when numbers_as_text then try_cast(trim(s[19]) as bigint)
            when t[19] in ('UBIGINT', 'BIGINT') then try_cast(s[19] as bigint)
            when t[19] = 'DOUBLE' and try_cast(s[19] as double) = floor(try_cast(s[19] as double))
                then try_cast(try_cast(s[19] as double) as bigint)
        end as completion_tokens,
        case
            when coalesce(t[20], 'NULL') = 'NULL' then null
            when numbers_as_text then try_cast(trim(s[20]) as bigint)
            when t[20] in ('UBIGINT', 'BIGINT') then try_cast(s[20] as bigint)
            when t[20] = 'DOUBLE' and try_cast(s[20] as double) = floor(try_cast(s[20] as double))
                then try_cast(try_cast(s[20] as double) as bigint)
        end as reasoning_tokens,
        case
            when coalesce(t[21], 'NULL') = 'NULL' then null
            when numbers_as_text then try_cast(trim(s[21]) as bigint)
            when t[21] in ('UBIGINT', 'BIGINT') then try_cast(s[21] as bigint)
            when t[21] = 'DOUBLE' and try_cast(s[21] as double) = floor(try_cast(s[21] as double))
                then try_cast(try_cast(s[21] as double) as bigint)
        end as retries,
        case
            when coalesce(t[22], 'NULL') = 'NULL' then null
            when numbers_as_text then try_cast(trim(s[22]) as bigint)
            when t[22] in ('UBIGINT', 'BIGINT') then try_cast(s[22] as bigint)
            when t[22] = 'DOUBLE' and try_cast(s[22] as double) = floor(try_cast(s[22] as double))
                then try_cast(try_cast(s[22] as double) as bigint)
        end as latency_ms
    from objects
),

valid_records as (
    select
        source_file,
        trim(s[1]) as event_id,
        (coalesce(emitted_ts, occurred_ts) at time zone 'UTC') as emitted_at,
        (occurred_ts at time zone 'UTC') as occurred_at,
        nullif(trim(s[4]), '') as customer_id,
        nullif(trim(s[8]), '') as task_id,
        nullif(trim(s[9]), '') as parent_event_id,
        attempt,
        lower(trim(s[11])) as provider,
        trim(s[12]) as model,
        coalesce(lower(nullif(trim(s[15]), '')), 'standard') as service_tier,
        coalesce(prompt_tokens, 0) as prompt_tokens,
        coalesce(cached_prompt_tokens, 0) as cached_prompt_tokens,
        coalesce(cache_write_tokens, 0) as cache_write_tokens,
        coalesce(completion_tokens, 0) as completion_tokens,
        coalesce(reasoning_tokens, 0) as reasoning_tokens,
        coalesce(lower(nullif(trim(s[23]), '')), 'success') as received_status
    from typed
    where
        -- string fields hold a JSON string or null
        coalesce(t[1], 'VARCHAR') in ('VARCHAR', 'NULL')
        and coalesce(t[4], 'VARCHAR') in ('VARCHAR', 'NULL')
        and coalesce(t[5], 'VARCHAR') in ('VARCHAR', 'NULL')
        and coalesce(t[6], 'VARCHAR') in ('VARCHAR', 'NULL')
        and coalesce(t[7], 'VARCHAR') in ('VARCHAR', 'NULL')
        and coalesce(t[8], 'VARCHAR') in ('VARCHAR', 'NULL')
        and coalesce(t[9], 'VARCHAR') in ('VARCHAR', 'NULL')
        and coalesce(t[11], 'VARCHAR') in ('VARCHAR', 'NULL')
        and coalesce(t[12], 'VARCHAR') in ('VARCHAR', 'NULL')
        and coalesce(t[13], 'VARCHAR') in ('VARCHAR', 'NULL')
        and coalesce(t[14], 'VARCHAR') in ('VARCHAR', 'NULL')
        and coalesce(t[15], 'VARCHAR') in ('VARCHAR', 'NULL')
        and coalesce(t[23], 'VARCHAR') in ('VARCHAR', 'NULL')
        and coalesce(t[24], 'VARCHAR') in ('VARCHAR', 'NULL')
        -- required: event_id, occurred_at, provider, model present and not blank
        and not coalesce(t[1], 'NULL') = 'NULL' and not (t[1] = 'VARCHAR' and trim(s[1]) = '')
        and not coalesce(t[3], 'NULL') = 'NULL' and not (t[3] = 'VARCHAR' and trim(s[3]) = '')
        and not coalesce(t[11], 'NULL') = 'NULL' and not (t[11] = 'VARCHAR' and trim(s[11]) = '')
        and not coalesce(t[12], 'NULL') = 'NULL' and not (t[12] = 'VARCHAR' and trim(s[12]) = '')
        -- timestamps: strings that parse (when not blank), from 2015 to the run clock + 24 hours
        and (coalesce(t[2], 'NULL') = 'NULL' or (t[2] = 'VARCHAR' and (trim(s[2]) = '' or emitted_ts is not null)))
        and (emitted_ts is null or emitted_ts between timestamptz '2015-01-01 00:00:00+00' and timestamptz '{{now_utc}}' + interval 24 hours)
        and (coalesce(t[3], 'NULL') = 'NULL' or (t[3] = 'VARCHAR' and (trim(s[3]) = '' or occurred_ts is not null)))
        and (occurred_ts is null or occurred_ts between timestamptz '2015-01-01 00:00:00+00' and timestamptz '{{now_utc}}' + interval 24 hours)
        -- whole numbers where present; attempt >= 1, the rest >= 0
        and (coalesce(t[10], 'NULL') = 'NULL' or attempt is not null) and coalesce(attempt >= 1, true)
        and (coalesce(t[16], 'NULL') = 'NULL' or prompt_tokens is not null) and coalesce(prompt_tokens >= 0, true)
        and (coalesce(t[17], 'NULL') = 'NULL' or cached_prompt_tokens is not null) and coalesce(cached_prompt_tokens >= 0, true)
        and (coalesce(t[18], 'NULL') = 'NULL' or cache_write_tokens is not null) and coalesce(cache_write_tokens >= 0, true)
        and (coalesce(t[19], 'NULL') = 'NULL' or completion_tokens is not null) and coalesce(completion_tokens >= 0, true)
        and (coalesce(t[20], 'NULL') = 'NULL' or reasoning_tokens is not null) and coalesce(reasoning_tokens >= 0, true)
        and (coalesce(t[21], 'NULL') = 'NULL' or retries is not null) and coalesce(retries >= 0, true)
        and (coalesce(t[22], 'NULL') = 'NULL' or latency_ms is not null) and coalesce(latency_ms >= 0, true)
        -- enums (case-insensitive)
        and (t[15] is distinct from 'VARCHAR' or lower(trim(s[15])) in ('standard', 'batch', 'flex', 'priority'))
        and (t[23] is distinct from 'VARCHAR' or lower(trim(s[23])) in ('in_progress', 'success', 'error', 'timeout', 'rate_limited', 'invalid_output', 'cancelled'))
        and (t[24] is distinct from 'VARCHAR' or lower(trim(s[24])) in ('accepted', 'rejected', 'failed', 'abandoned'))
        -- cross-field rules; a final record carries its token counts
        and coalesce(coalesce(cached_prompt_tokens, 0) + coalesce(cache_write_tokens, 0) <= prompt_tokens, true)
        and coalesce(reasoning_tokens <= completion_tokens, true)
        and not (coalesce(lower(trim(s[23])), 'success') <> 'in_progress' and prompt_tokens is null and coalesce(t[16], 'NULL') = 'NULL')
        and not (coalesce(lower(trim(s[23])), 'success') <> 'in_progress' and completion_tokens is null and coalesce(t[19], 'NULL') = 'NULL')
        -- a task's first attempt carries customer, workspace and feature
        and not (
            s[9] is null and coalesce(attempt, 1) = 1
            and (coalesce(trim(s[4]), '') = '' or coalesce(trim(s[5]), '') = '' or coalesce(trim(s[6]), '') = '')
        )
),

calls as (
    select
        valid_records.*,
        cast(occurred_at as date) as event_date,
        extract(epoch from occurred_at - date_trunc('day', occurred_at)) as second_of_day
    from valid_records
    qualify row_number() over (
        partition by event_id
        order by emitted_at desc, case when received_status = 'in_progress' then 1 else 0 end, source_file
    ) = 1
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
