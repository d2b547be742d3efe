-- AI cost in mart_channel_monthly_margin sums, month by month, to the cost in fct_llm_calls.
{{ margin_cost_mismatches(ref('mart_channel_monthly_margin')) }}
