{#
    The two route marts and fct_tasks count the same tasks: per ISO week and original route, the
    transition matrix sums to the fallback mart's tasks started and cost, and its tasks that ended
    on another route are the fallback mart's tasks fallen back; per week, the tasks started on all
    routes are the tasks of fct_tasks that week. Returns the disagreeing rows.
#}

with

fallbacks as (
    select * from {{ ref('mart_route_fallbacks_weekly') }}
),

transitions as (
    select * from {{ ref('mart_route_transitions_weekly') }}
),

tasks as (
    select * from {{ ref('fct_tasks') }}
),

transitions_by_route as (
    select
        transitions.week_start,
        transitions.original_route,
        sum(transitions.tasks) as tasks,
        sum(
            case when transitions.final_route <> transitions.original_route then transitions.tasks else 0 end
        ) as tasks_moved,
        coalesce(sum(transitions.total_cost_usd), 0) as total_cost_usd
    from transitions
    group by
        transitions.week_start,
        transitions.original_route
),

routes_compared as (
    select
        'route' as compared,
        coalesce(fallbacks.week_start, transitions_by_route.week_start) as week_start,
        coalesce(fallbacks.original_route, transitions_by_route.original_route) as original_route,
        coalesce(fallbacks.tasks_started, 0) as fallback_mart_tasks,
        coalesce(transitions_by_route.tasks, 0) as other_tasks,
        coalesce(fallbacks.tasks_fallen_back, 0) as fallback_mart_moved,
        coalesce(transitions_by_route.tasks_moved, 0) as other_moved,
        coalesce(fallbacks.total_cost_usd, 0) as fallback_mart_cost_usd,
        coalesce(transitions_by_route.total_cost_usd, 0) as other_cost_usd
    from fallbacks
    full outer join transitions_by_route
        on fallbacks.week_start = transitions_by_route.week_start
        and fallbacks.original_route = transitions_by_route.original_route
),

fallbacks_by_week as (
    select
        fallbacks.week_start,
        sum(fallbacks.tasks_started) as tasks,
        coalesce(sum(fallbacks.total_cost_usd), 0) as total_cost_usd
    from fallbacks
    group by fallbacks.week_start
),

tasks_by_week as (
    select
        cast({{ dbt.date_trunc('week', 'tasks.task_date') }} as date) as week_start,
        count(*) as tasks,
        coalesce(sum(tasks.total_cost_usd), 0) as total_cost_usd
    from tasks
    group by cast({{ dbt.date_trunc('week', 'tasks.task_date') }} as date)
),

weeks_compared as (
    select
        'week' as compared,
        coalesce(fallbacks_by_week.week_start, tasks_by_week.week_start) as week_start,
        cast(null as string) as original_route,
        coalesce(fallbacks_by_week.tasks, 0) as fallback_mart_tasks,
        coalesce(tasks_by_week.tasks, 0) as other_tasks,
        0 as fallback_mart_moved,
        0 as other_moved,
        coalesce(fallbacks_by_week.total_cost_usd, 0) as fallback_mart_cost_usd,
        coalesce(tasks_by_week.total_cost_usd, 0) as other_cost_usd
    from fallbacks_by_week
    full outer join tasks_by_week
        on fallbacks_by_week.week_start = tasks_by_week.week_start
),

compared as (
    select * from routes_compared
    union all
    select * from weeks_compared
),

final as (
    select *
    from compared
    where compared.fallback_mart_tasks <> compared.other_tasks
        or compared.fallback_mart_moved <> compared.other_moved
        or compared.fallback_mart_cost_usd <> compared.other_cost_usd
)

select * from final
