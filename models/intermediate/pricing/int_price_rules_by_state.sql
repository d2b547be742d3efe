{#
    The price rules in force in two states of the price history:
      current  - every pricing file loaded so far;
      previous - every pricing file but the one loaded last.
    Within a state, the latest catalog export and the latest LiteLLM file of each source are in
    force (each is a full price list that replaces the one before); negotiated sheets all stay
    in force, a later sheet winning where two overlap. Pricing the calls under both states shows
    exactly what the last pricing file changed (mart_price_restatements).
#}

with

price_rules as (
    select * from {{ ref('stg_pricing__price_rules') }}
),

states as (
    select 'current' as price_state, max(price_rules.load_sequence) as max_load_sequence
    from price_rules
    union all
    select 'previous' as price_state, max(price_rules.load_sequence) - 1 as max_load_sequence
    from price_rules
),

rules_in_state as (
    select
        states.price_state,
        price_rules.*,
        max(price_rules.load_sequence) over (
            partition by states.price_state, price_rules.price_source
        ) as latest_load_of_source
    from price_rules
    inner join states
        on price_rules.load_sequence <= states.max_load_sequence
),

final as (
    select *
    from rules_in_state
    where rules_in_state.price_source = 'negotiated'
        or rules_in_state.load_sequence = rules_in_state.latest_load_of_source
)

select * from final
