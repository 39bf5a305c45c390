{#
    Invoice records in HubSpot that no Xero invoice explains: their `xero_invoice_id` is not
    the InvoiceID of any invoice in the warehouse (made by hand, or a copy whose id was typed
    in upper case or with spaces). The push never writes, merges or deletes them — a person
    decides — but lists them in the run's alert and summary (reverse_etl/push/alerts.py).

    `reason`: 'case_or_spaces' when the id equals a Xero InvoiceID once trimmed and lower-cased
    (`resembles_xero_invoice_id` names that invoice), else 'unknown_invoice_id'.
#}
with

hubspot_records as (

    select * from {{ ref('stg_hubspot__invoice_records') }}

),

xero_invoices as (

    select invoice_id, invoice_number from {{ ref('stg_xero__invoices') }}

),

unexplained as (

    select hubspot_records.*
    from hubspot_records
    left join xero_invoices
        on hubspot_records.xero_invoice_id = xero_invoices.invoice_id
    where xero_invoices.invoice_id is null

),

final as (

    select
        unexplained.hs_object_id,
        unexplained.xero_invoice_id,
        unexplained.invoice_number,
        unexplained.contact_name,
        case
            when resembling.invoice_id is not null then 'case_or_spaces'
            else 'unknown_invoice_id'
        end as reason,
        resembling.invoice_id as resembles_xero_invoice_id,
        resembling.invoice_number as resembles_invoice_number,
        unexplained.hs_created_at,
        unexplained.hs_last_modified_at
    from unexplained
    left join xero_invoices as resembling
        on lower(trim(unexplained.xero_invoice_id)) = resembling.invoice_id

)

select * from final
