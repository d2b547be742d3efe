{#
    One row per workspace of the latest workspaces export, with its name and its customer.
    Workspace names repeat across customers ('Default'), so a screen names a workspace together
    with its customer's name (dim_customers). Workspaces that appear only in usage data are not
    here; readers fall back to the id.
#}

with

workspaces as (
    select * from {{ ref('stg_billing__workspaces') }}
),

final as (
    select
        workspaces.workspace_id,
        workspaces.workspace_name,
        workspaces.customer_id
    from workspaces
)

select * from final
