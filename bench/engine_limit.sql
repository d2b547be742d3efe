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
    select
        source_file,
        t,
        s,
        -- a string field holds a JSON string or null
        list_bool_and(list_transform(
            [t[1], t[4], t[5], t[6], t[7], t[8], t[9], t[11], t[12], t[13], t[14], t[15], t[23], t[24]],
            lambda x: x is null or x in ('VARCHAR', 'NULL')
        )) as strings_ok,
        -- timestamps are strings that parse, between 2015 and the run clock + 24 hours
        list_transform([2, 3], lambda i: try_cast(trim(s[i]) as timestamptz)) as ts,
        -- whole numbers: JSON integers (or whole doubles); text that parses in CSV
        list_transform([10, 16, 17, 18, 19, 20, 21, 22], lambda i:
            case
                when t[i] is null or t[i] = 'NULL' then null
                when numbers_as_text then try_cast(trim(s[i]) as bigint)
                when t[i] in ('UBIGINT', 'BIGINT') then try_cast(s[i] as bigint)
                when t[i] = 'DOUBLE' and try_cast(s[i] as double) = floor(try_cast(s[i] as double))
                    then try_cast(try_cast(s[i] as double) as bigint)
            end
        ) as n
    from objects
),

valid_records as (
    select
        source_file,
        trim(s[1]) as event_id,
        (coalesce(ts[1], ts[2]) at time zone 'UTC') as emitted_at,
        (ts[2] at time zone 'UTC') as occurred_at,
        nullif(trim(s[4]), '') as customer_id,
        nullif(trim(s[8]), '') as task_id,
        nullif(trim(s[9]), '') as parent_event_id,
        n[1] as attempt,
        lower(trim(s[11])) as provider,
        trim(s[12]) as model,
        coalesce(lower(nullif(trim(s[15]), '')), 'standard') as service_tier,
        coalesce(n[2], 0) as prompt_tokens,
        coalesce(n[3], 0) as cached_prompt_tokens,
        coalesce(n[4], 0) as cache_write_tokens,
        coalesce(n[5], 0) as completion_tokens,
        coalesce(n[6], 0) as reasoning_tokens,
        coalesce(lower(nullif(trim(s[23]), '')), 'success') as received_status
    from typed
    where
        strings_ok
        -- required: event_id, occurred_at, provider, model present and not blank
        and list_bool_and(list_transform([1, 3, 11, 12], lambda i:
            t[i] is not null and t[i] <> 'NULL' and not (t[i] = 'VARCHAR' and trim(s[i]) = '')))
        -- timestamps: strings, parseable when not blank, within range
        and list_bool_and(list_transform([2, 3], lambda i:
            t[i] is null or t[i] = 'NULL' or (t[i] = 'VARCHAR' and (trim(s[i]) = '' or try_cast(trim(s[i]) as timestamptz) is not null))))
        and list_bool_and(list_transform(ts, lambda v:
            v is null or (v >= timestamptz '2015-01-01 00:00:00+00' and v <= timestamptz '{{now_utc}}' + interval 24 hours)))
        -- whole numbers where present, attempt >= 1, the rest >= 0
        and list_bool_and(list_transform(list_zip([10, 16, 17, 18, 19, 20, 21, 22], n), lambda p:
            (t[p[1]] is null or t[p[1]] = 'NULL' or p[2] is not null) and coalesce(p[2] >= case when p[1] = 10 then 1 else 0 end, true)))
        -- enums (case-insensitive)
        and (t[15] is distinct from 'VARCHAR' or lower(trim(s[15])) in ('standard', 'batch', 'flex', 'priority'))
        and (t[23] is distinct from 'VARCHAR' or lower(trim(s[23])) in ('in_progress', 'success', 'error', 'timeout', 'rate_limited', 'invalid_output', 'cancelled'))
        and (t[24] is distinct from 'VARCHAR' or lower(trim(s[24])) in ('accepted', 'rejected', 'failed', 'abandoned'))
        -- cross-field rules
        and coalesce(coalesce(n[3], 0) + coalesce(n[4], 0) <= n[2], true)
        and coalesce(n[6] <= n[5], true)
        and not (coalesce(lower(trim(s[23])), 'success') <> 'in_progress' and n[2] is null and (t[16] is null or t[16] = 'NULL'))
        and not (coalesce(lower(trim(s[23])), 'success') <> 'in_progress' and n[5] is null and (t[19] is null or t[19] = 'NULL'))
        -- a task's first attempt carries customer, workspace and feature
        and not (
            s[9] is null and coalesce(n[1], 1) = 1
            and (s[4] is null or trim(s[4]) = '' or s[5] is null or trim(s[5]) = '' or s[6] is null or trim(s[6]) = '')
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
