{#
    What each provider's own reports say against what llm-margin saw and computed, per provider,
    UTC day and model (docs/provider-reconciliation.md, "Provider reports"), with the likely
    cause of each gap. Only providers that have reports, from their first reported day. A model we
    logged is matched to the provider's name for it on the day (macros/provider_models.sql: the
    same string, or ours plus a dated snapshot suffix; the exact name first, else the latest
    snapshot), and the row carries the provider's name.

    Likely cause, the first that holds (t = tolerance / 100; tokens = input + output):

        not reported            the provider's usage or cost report has no row for the day yet
        unpriced model          some of our calls of the row are unpriced (our cost counts 0)
        within tolerance        |gap| <= max(t x computed, min_gap_usd) and the tokens agree within t
        bypassed gateway        provider tokens > ours' x (1 + t), or provider requests > our calls' x (1 + t)
        provider reports fewer  our tokens > provider tokens x (1 + t) (a partial pull, late data)
        batch or tier discount  |provider batch input - ours'| > t x our input'
        cache accounting        |provider cache reads - ours'| > t x our input', or the same for cache writes
        lost in quarantine      provider tokens > ours x (1 + t), or requests > our calls x (1 + t):
                                more than we counted, but no more than our quarantined records add
        price drift             anything else: same tokens, same split, another amount

    ours' = ours plus what our quarantined usage records of the row say (the provider saw those
    calls): a gap they explain is not a bypass, and a tier, cache or price gap on a day with some
    quarantined calls is still named.

    Anthropic reports no request count (provider_requests null: tokens only), and its cost report
    leaves out Priority Tier costs: for Anthropic, computed_cost_usd leaves out our priority-tier
    calls too, whose tokens are still compared.

    The tolerance is var('provider_reconciliation_tolerance_pct'), else
    $LLM_MARGIN_RECONCILIATION_TOLERANCE_PCT, else 1 (percent); the smallest gap that counts is
    var('provider_reconciliation_min_gap_usd'), else 0.01 (a day of a small model is cents).
#}

{%- set tolerance_pct = var('provider_reconciliation_tolerance_pct', env_var('LLM_MARGIN_RECONCILIATION_TOLERANCE_PCT', '1')) | float %}
{%- set min_gap_usd = var('provider_reconciliation_min_gap_usd', '0.01') | float %}

with

ours_by_model as (
    select * from {{ ref('int_llm_calls__by_provider_day_model') }}
),

reported_usage as (
    select * from {{ ref('int_provider_reports__usage_by_day_model') }}
),

reported_cost as (
    select * from {{ ref('int_provider_reports__cost_by_day_model') }}
),

quarantined as (
    select * from {{ ref('int_quarantined_usage__by_provider_day_model') }}
),

reporting_providers as (
    select reported_usage.provider, min(reported_usage.usage_date) as first_reported_date
    from reported_usage
    group by reported_usage.provider
),

usage_days as (
    select distinct reported_usage.provider, reported_usage.usage_date
    from reported_usage
),

cost_days as (
    select distinct reported_cost.provider, reported_cost.usage_date
    from reported_cost
),

reported_models as (
    select distinct named.provider, named.usage_date, named.model
    from (
        select reported_usage.provider, reported_usage.usage_date, reported_usage.model
        from reported_usage
        union all
        select reported_cost.provider, reported_cost.usage_date, reported_cost.model
        from reported_cost
    ) as named
),

our_models as (
    select distinct ours_by_model.provider, ours_by_model.event_date, ours_by_model.model
    from ours_by_model
),

name_candidates as (
    select
        our_models.provider,
        our_models.event_date,
        our_models.model as our_model,
        reported_models.model as reported_model,
        row_number() over (
            partition by our_models.provider, our_models.event_date, our_models.model
            order by
                case when reported_models.model = our_models.model then 0 else 1 end,
                reported_models.model desc
        ) as match_rank
    from our_models
    inner join reported_models
        on our_models.provider = reported_models.provider
        and our_models.event_date = reported_models.usage_date
        and {{ provider_model_matches('reported_models.model', 'our_models.model') }}
),

model_names as (
    select name_candidates.provider, name_candidates.event_date, name_candidates.our_model,
        name_candidates.reported_model
    from name_candidates
    where name_candidates.match_rank = 1
),

ours as (
    select
        ours_by_model.provider,
        ours_by_model.event_date as usage_date,
        coalesce(model_names.reported_model, ours_by_model.model) as model,
        sum(ours_by_model.calls) as calls,
        sum(ours_by_model.priced_calls) as priced_calls,
        sum(ours_by_model.prompt_tokens) as input_tokens,
        sum(ours_by_model.cached_prompt_tokens) as cache_read_tokens,
        sum(ours_by_model.cache_write_tokens) as cache_write_tokens,
        sum(ours_by_model.completion_tokens) as output_tokens,
        sum(ours_by_model.batch_prompt_tokens) as batch_input_tokens,
        sum(
            case
                when ours_by_model.provider = 'anthropic'
                    then coalesce(ours_by_model.cost_usd, 0) - coalesce(ours_by_model.priority_cost_usd, 0)
                else coalesce(ours_by_model.cost_usd, 0)
            end
        ) as cost_usd
    from ours_by_model
    inner join reporting_providers
        on ours_by_model.provider = reporting_providers.provider
        and ours_by_model.event_date >= reporting_providers.first_reported_date
    left join model_names
        on ours_by_model.provider = model_names.provider
        and ours_by_model.event_date = model_names.event_date
        and ours_by_model.model = model_names.our_model
    group by
        ours_by_model.provider,
        ours_by_model.event_date,
        coalesce(model_names.reported_model, ours_by_model.model)
),

theirs as (
    select
        coalesce(reported_usage.provider, reported_cost.provider) as provider,
        coalesce(reported_usage.usage_date, reported_cost.usage_date) as usage_date,
        coalesce(reported_usage.model, reported_cost.model) as model,
        reported_usage.requests,
        reported_usage.input_tokens,
        reported_usage.cache_read_tokens,
        reported_usage.cache_write_tokens,
        reported_usage.output_tokens,
        reported_usage.batch_input_tokens,
        reported_cost.cost_usd
    from reported_usage
    full outer join reported_cost
        on reported_usage.provider = reported_cost.provider
        and reported_usage.usage_date = reported_cost.usage_date
        and reported_usage.model = reported_cost.model
),

joined as (
    select
        coalesce(theirs.provider, ours.provider) as provider,
        coalesce(theirs.usage_date, ours.usage_date) as usage_date,
        coalesce(theirs.model, ours.model) as model,
        cast(coalesce(ours.calls, 0) as bigint) as our_calls,
        cast(coalesce(ours.priced_calls, 0) as bigint) as our_priced_calls,
        cast(theirs.requests as bigint) as provider_requests,
        cast(coalesce(ours.input_tokens, 0) as bigint) as our_input_tokens,
        cast(coalesce(theirs.input_tokens, 0) as bigint) as provider_input_tokens,
        cast(coalesce(ours.cache_read_tokens, 0) as bigint) as our_cache_read_tokens,
        cast(coalesce(theirs.cache_read_tokens, 0) as bigint) as provider_cache_read_tokens,
        cast(coalesce(ours.cache_write_tokens, 0) as bigint) as our_cache_write_tokens,
        cast(coalesce(theirs.cache_write_tokens, 0) as bigint) as provider_cache_write_tokens,
        cast(coalesce(ours.output_tokens, 0) as bigint) as our_output_tokens,
        cast(coalesce(theirs.output_tokens, 0) as bigint) as provider_output_tokens,
        cast(coalesce(ours.batch_input_tokens, 0) as bigint) as our_batch_input_tokens,
        cast(coalesce(theirs.batch_input_tokens, 0) as bigint) as provider_batch_input_tokens,
        cast(coalesce(ours.cost_usd, 0) as decimal(24, 12)) as computed_cost_usd,
        theirs.cost_usd as reported_cost_usd
    from theirs
    full outer join ours
        on theirs.provider = ours.provider
        and theirs.usage_date = ours.usage_date
        and theirs.model = ours.model
),

quarantined_by_row as (
    -- quarantined records carry the name we logged: matched to the row as our calls are
    select
        row_models.provider,
        row_models.usage_date,
        row_models.model,
        sum(quarantined.quarantined_prompt_tokens + quarantined.quarantined_completion_tokens)
            as quarantined_tokens,
        sum(quarantined.quarantined_events) as quarantined_events,
        sum(quarantined.quarantined_prompt_tokens) as quarantined_input_tokens,
        sum(coalesce(quarantined.quarantined_cached_prompt_tokens, 0)) as quarantined_cache_read_tokens,
        sum(coalesce(quarantined.quarantined_cache_write_tokens, 0)) as quarantined_cache_write_tokens,
        sum(coalesce(quarantined.quarantined_batch_prompt_tokens, 0)) as quarantined_batch_input_tokens
    from (select distinct joined.provider, joined.usage_date, joined.model from joined) as row_models
    inner join quarantined
        on row_models.provider = quarantined.provider
        and row_models.usage_date = quarantined.event_date
        and {{ provider_model_matches('row_models.model', 'quarantined.model') }}
    group by row_models.provider, row_models.usage_date, row_models.model
),

compared as (
    select
        joined.*,
        case when usage_days.usage_date is not null and cost_days.usage_date is not null
            then true else false end as is_reported,
        case
            when cost_days.usage_date is not null
                then cast(coalesce(joined.reported_cost_usd, 0) as decimal(24, 12))
        end as provider_cost_usd,
        cast(coalesce(quarantined_by_row.quarantined_tokens, 0) as bigint) as quarantined_tokens,
        cast(coalesce(quarantined_by_row.quarantined_events, 0) as double) as quarantined_events,
        cast(coalesce(quarantined_by_row.quarantined_input_tokens, 0) as double) as quarantined_input,
        cast(coalesce(quarantined_by_row.quarantined_cache_read_tokens, 0) as double) as quarantined_cache_read,
        cast(coalesce(quarantined_by_row.quarantined_cache_write_tokens, 0) as double) as quarantined_cache_write,
        cast(coalesce(quarantined_by_row.quarantined_batch_input_tokens, 0) as double) as quarantined_batch_input,
        cast(joined.our_input_tokens + joined.our_output_tokens as double) as our_tokens,
        cast(joined.provider_input_tokens + joined.provider_output_tokens as double) as provider_tokens,
        cast({{ tolerance_pct }} as double) / 100 as t
    from joined
    left join usage_days
        on joined.provider = usage_days.provider
        and joined.usage_date = usage_days.usage_date
    left join cost_days
        on joined.provider = cost_days.provider
        and joined.usage_date = cost_days.usage_date
    left join quarantined_by_row
        on joined.provider = quarantined_by_row.provider
        and joined.usage_date = quarantined_by_row.usage_date
        and joined.model = quarantined_by_row.model
),

gaps as (
    select
        compared.*,
        cast(compared.provider_cost_usd - compared.computed_cost_usd as decimal(24, 12)) as gap_usd,
        abs(cast(compared.provider_cost_usd - compared.computed_cost_usd as double)) <= greatest(
            compared.t * cast(compared.computed_cost_usd as double), cast({{ min_gap_usd }} as double)
        ) as is_cost_within,
        abs(compared.provider_tokens - compared.our_tokens) <= compared.t * compared.our_tokens
            as is_tokens_within
    from compared
),

final as (
    select
        concat(gaps.provider, ':', cast(gaps.usage_date as string), ':', gaps.model) as reconciliation_id,
        gaps.provider,
        gaps.usage_date,
        gaps.model,
        gaps.our_calls,
        gaps.our_priced_calls,
        gaps.provider_requests,
        gaps.our_input_tokens,
        gaps.provider_input_tokens,
        gaps.our_cache_read_tokens,
        gaps.provider_cache_read_tokens,
        gaps.our_cache_write_tokens,
        gaps.provider_cache_write_tokens,
        gaps.our_output_tokens,
        gaps.provider_output_tokens,
        gaps.our_batch_input_tokens,
        gaps.provider_batch_input_tokens,
        gaps.quarantined_tokens,
        gaps.computed_cost_usd,
        gaps.provider_cost_usd,
        gaps.gap_usd,
        case
            when gaps.computed_cost_usd <> 0
                then cast(gaps.gap_usd as double) / cast(gaps.computed_cost_usd as double) * 100
        end as gap_pct,
        case
            when gaps.our_tokens > 0
                then (gaps.provider_tokens - gaps.our_tokens) / gaps.our_tokens * 100
        end as token_gap_pct,
        gaps.t * 100 as tolerance_pct,
        cast({{ min_gap_usd }} as double) as min_gap_usd,
        gaps.is_reported,
        case when gaps.is_reported then gaps.is_cost_within and gaps.is_tokens_within end
            as is_within_tolerance,
        case
            when not gaps.is_reported then 'not reported'
            when gaps.our_priced_calls < gaps.our_calls then 'unpriced model'
            when gaps.is_cost_within and gaps.is_tokens_within then 'within tolerance'
            when gaps.provider_tokens > (gaps.our_tokens + gaps.quarantined_tokens) * (1 + gaps.t)
                or gaps.provider_requests > (gaps.our_calls + gaps.quarantined_events) * (1 + gaps.t)
                then 'bypassed gateway'
            when gaps.our_tokens > gaps.provider_tokens * (1 + gaps.t) then 'provider reports fewer'
            when abs(gaps.provider_batch_input_tokens - (gaps.our_batch_input_tokens + gaps.quarantined_batch_input))
                > gaps.t * (gaps.our_input_tokens + gaps.quarantined_input)
                then 'batch or tier discount'
            when abs(gaps.provider_cache_read_tokens - (gaps.our_cache_read_tokens + gaps.quarantined_cache_read))
                > gaps.t * (gaps.our_input_tokens + gaps.quarantined_input)
                or abs(gaps.provider_cache_write_tokens - (gaps.our_cache_write_tokens + gaps.quarantined_cache_write))
                > gaps.t * (gaps.our_input_tokens + gaps.quarantined_input)
                then 'cache accounting'
            when gaps.provider_tokens > gaps.our_tokens * (1 + gaps.t)
                or gaps.provider_requests > gaps.our_calls * (1 + gaps.t)
                then 'lost in quarantine'
            else 'price drift'
        end as likely_cause
    from gaps
)

select * from final
