{#
    A status change alerted on must also be written: every row of invoice_status_changes has an
    UPDATE action that names `status`.
#}
with

status_changes as (

    select * from {{ ref('invoice_status_changes') }}

),

actions as (

    select * from {{ ref('hubspot_invoice_actions') }}

),

final as (

    select status_changes.*
    from status_changes
    left join actions
        on status_changes.xero_invoice_id = actions.xero_invoice_id
        and actions.action = 'UPDATE'
        and {{ list_has('actions.changed_properties', "'status'") }}
    where actions.xero_invoice_id is null

)

select * from final
