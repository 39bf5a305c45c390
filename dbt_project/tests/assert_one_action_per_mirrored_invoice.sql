{#
    Every row of hubspot_invoice_actions belongs to a mirrored invoice, and no invoice has more
    than one action (the push upserts on xero_invoice_id; two writes of one invoice in a batch
    are rejected by HubSpot). An INSERT never targets an invoice HubSpot already holds, and an
    UPDATE always names its record and at least one property.
#}
with

actions as (

    select * from {{ ref('hubspot_invoice_actions') }}

),

desired as (

    select * from {{ ref('hubspot_invoices_desired') }}

),

hubspot_records as (

    select * from {{ ref('stg_hubspot__invoice_records') }}

),

duplicated as (

    select xero_invoice_id, 'more than one action' as problem
    from actions
    group by xero_invoice_id
    having count(*) > 1

),

not_mirrored as (

    select actions.xero_invoice_id, 'action for an invoice not mirrored' as problem
    from actions
    left join desired
        on actions.xero_invoice_id = desired.xero_invoice_id
    where desired.xero_invoice_id is null

),

inconsistent as (

    select actions.xero_invoice_id, 'action inconsistent with HubSpot records' as problem
    from actions
    left join hubspot_records
        on actions.xero_invoice_id = hubspot_records.xero_invoice_id
    where (actions.action = 'INSERT' and hubspot_records.hs_object_id is not null)
        or (
            actions.action = 'UPDATE'
            and (
                actions.hs_object_id is distinct from hubspot_records.hs_object_id
                or cardinality(actions.changed_properties) = 0
            )
        )

),

final as (

    select * from duplicated
    union all
    select * from not_mirrored
    union all
    select * from inconsistent

)

select * from final
