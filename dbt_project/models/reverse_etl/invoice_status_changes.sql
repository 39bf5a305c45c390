{#
    Invoices whose status in Xero differs from the status their HubSpot record holds: the
    alerts of the push ("INV-0042 is now PAID"). New invoices are not status changes: they
    are INSERTs in hubspot_invoice_actions.
#}
with

desired as (

    select * from {{ ref('hubspot_invoices_desired') }}

),

hubspot_records as (

    select * from {{ ref('stg_hubspot__invoice_records') }}

),

invoices as (

    select * from {{ ref('fct_invoices') }}

),

final as (

    select
        desired.xero_invoice_id,
        hubspot_records.hs_object_id,
        invoices.invoice_number,
        invoices.contact_name,
        invoices.currency_code,
        {# Money in the invoice currency, to the cent, as the alert prints it. #}
        cast(invoices.total as decimal(18, 2)) as total,
        cast(invoices.amount_due as decimal(18, 2)) as amount_due,
        hubspot_records.status as previous_status,
        desired.status as new_status,
        invoices.updated_at as xero_updated_at
    from desired
    inner join hubspot_records
        on desired.xero_invoice_id = hubspot_records.xero_invoice_id
    inner join invoices
        on desired.xero_invoice_id = invoices.invoice_id
    where {{ parse_hubspot_value('desired.status', 'enumeration') }}
        is distinct from hubspot_records.status

)

select * from final
