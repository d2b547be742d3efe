{#
    One row per loaded what-if scenario: the period of real traffic it replays, its default price
    basis, the date `today` prices at, and a fingerprint of everything its calls' rewrite depends
    on besides the calls themselves (docs/pricing.md "What-if pricing"):
      - period: the first rule's period_start/period_end, by default the last full calendar
        month before the latest event_date in the warehouse (every day it holds when it holds
        no full month);
      - today_price_date: the first day of the prices in force on the build date, i.e. the
        latest date on or before it on which any current price rule starts or a period rule
        ends. Its prices are the build date's, and it changes only when a price change takes
        effect, not every day (the build date itself when no price rule is dated);
      - scenario_state: a hash of the scenario file's name, every rule's fields and
        today_price_date. int_whatif_calls rebuilds every day of a scenario whose state is not
        the one its rows were built under.
    A table of a few rows, rebuilt whole each run.
#}

{{ config(materialized='table') }}

with

rules as (
    select * from {{ ref('stg_scenarios__rules') }}
),

price_rules as (
    select * from {{ ref('int_price_rules_by_state') }}
    where price_state = 'current'
),

warehouse_days as (
    select
        min(all_events.event_date) as first_event_date,
        max(all_events.event_date) as latest_event_date
    from {{ ref('stg_usage__events') }} as all_events
),

default_period as (
    -- the last full calendar month before the latest event_date; every day held when the
    -- warehouse does not hold that whole month
    select
        warehouse_days.first_event_date,
        warehouse_days.latest_event_date,
        cast({{ dbt.dateadd('month', -1, dbt.date_trunc('month', 'warehouse_days.latest_event_date')) }} as date)
            as month_start,
        cast({{ dbt.date_trunc('month', 'warehouse_days.latest_event_date') }} as date) as month_end
    from warehouse_days
),

price_changes as (
    -- the days on or before the build date on which the set of price rules in force changed
    select price_rules.valid_from as change_date
    from price_rules
    where price_rules.valid_from <= current_date
    union all
    select price_rules.valid_to as change_date
    from price_rules
    where price_rules.rule_kind = 'period' and price_rules.valid_to <= current_date
),

today_prices as (
    select coalesce(max(price_changes.change_date), current_date) as today_price_date
    from price_changes
),

rule_fingerprints as (
    select
        rules.scenario_id,
        rules.rule_index,
        {{ dbt.hash(dbt.concat([
            "coalesce(rules.scenario_file, '~')",
            "'|'", "cast(rules.rule_index as string)",
            "'|'", "coalesce(cast(rules.rule_line as string), '~')",
            "'|'", "coalesce(rules.match_feature, '~')",
            "'|'", "coalesce(rules.match_route, '~')",
            "'|'", "coalesce(rules.candidate_provider, '~')",
            "'|'", "coalesce(rules.candidate_model, '~')",
            "'|'", "coalesce(rules.candidate_service_tier, '~')",
            "'|'", "coalesce(cast(rules.cache_hit_rate as string), '~')",
            "'|'", "coalesce(cast(rules.token_ratio as string), '~')",
            "'|'", "coalesce(cast(rules.price_basis as string), '~')",
            "'|'", "coalesce(cast(rules.price_date as string), '~')",
            "'|'", "coalesce(rules.assumptions, '~')",
        ])) }} as rule_fingerprint,
        row_number() over (partition by rules.scenario_id order by rules.rule_index) as rule_order
    from rules
),

scenario_fingerprints as (
    select
        rule_fingerprints.scenario_id,
        {{ dbt.listagg('rule_fingerprints.rule_fingerprint', "','", 'order by rule_fingerprints.rule_index') }}
            as rules_fingerprint
    from rule_fingerprints
    group by rule_fingerprints.scenario_id
),

first_rules as (
    -- a scenario's period and default price basis are its first rule's
    select rules.*
    from rules
    inner join rule_fingerprints
        on rules.scenario_id = rule_fingerprints.scenario_id
        and rules.rule_index = rule_fingerprints.rule_index
    where rule_fingerprints.rule_order = 1
),

final as (
    select
        first_rules.scenario_id,
        first_rules.scenario_file,
        coalesce(
            first_rules.period_start,
            case when default_period.first_event_date <= default_period.month_start
                then default_period.month_start else default_period.first_event_date end
        ) as period_start,
        coalesce(
            first_rules.period_end,
            case when default_period.first_event_date <= default_period.month_start
                then default_period.month_end
                else cast({{ dbt.dateadd('day', 1, 'default_period.latest_event_date') }} as date) end
        ) as period_end,
        first_rules.price_basis as default_price_basis,
        first_rules.price_date as default_price_date,
        today_prices.today_price_date,
        {{ dbt.hash(dbt.concat([
            "scenario_fingerprints.rules_fingerprint",
            "'|'", "cast(today_prices.today_price_date as string)",
        ])) }} as scenario_state
    from first_rules
    inner join scenario_fingerprints
        on first_rules.scenario_id = scenario_fingerprints.scenario_id
    cross join default_period
    cross join today_prices
)

select * from final
