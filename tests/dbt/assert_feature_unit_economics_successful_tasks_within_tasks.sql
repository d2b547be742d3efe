{#
    Arithmetic invariant of mart_feature_unit_economics: 0 <= successful_tasks <= tasks on every row.
#}

select *
from {{ ref('mart_feature_unit_economics') }}
where successful_tasks > tasks
    or successful_tasks < 0
