{#
    Xero: AmountDue = Total − AmountPaid − AmountCredited (credit notes, prepayments and
    overpayments allocated). A broken amount would be mirrored to HubSpot, so it stops the
    build. Voided and deleted invoices are not checked (nothing is due on them).
#}
with

invoices as (

    select * from {{ ref('stg_xero__invoices') }}

),

final as (

    select
        invoice_id,
        invoice_number,
        status,
        total,
        amount_paid,
        amount_credited,
        amount_due,
        total - coalesce(amount_paid, 0) - coalesce(amount_credited, 0) as expected_amount_due
    from invoices
    where status not in ('VOIDED', 'DELETED')
        and amount_due is distinct from
            total - coalesce(amount_paid, 0) - coalesce(amount_credited, 0)

)

select * from final
