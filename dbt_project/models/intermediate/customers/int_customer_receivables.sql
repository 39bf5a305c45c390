{#
    What each Xero contact owes now: its sales invoices (ACCREC) that are AUTHORISED with an
    amount due, in the organisation's base currency (each invoice converted at its own rate in
    fct_invoices, macros/finance.sql), overdue when the due date is before today in the
    organisation's time zone (fct_invoices.days_overdue). The unconverted sum is kept for the
    reconciliation with Xero's own Balances (int_customer_xero_reconciliation).
    Ephemeral: a CTE of its consumers (dim_customers, the reconciliation), not a node to run.
#}
{{ config(materialized='ephemeral') }}

with

invoices as (

    select * from {{ ref('fct_invoices') }}

),

final as (

    select
        invoices.contact_id,
        count(*) as open_invoice_count,
        count(*) filter (where invoices.days_overdue > 0) as overdue_invoice_count,
        sum(invoices.amount_due_in_base_currency) as receivables_outstanding,
        sum(invoices.amount_due) as receivables_outstanding_unconverted,
        coalesce(
            sum(invoices.amount_due_in_base_currency) filter (where invoices.days_overdue > 0), 0
        ) as receivables_overdue
    from invoices
    where invoices.invoice_type = 'ACCREC'
        and invoices.status = 'AUTHORISED'
        and invoices.amount_due > 0
    group by invoices.contact_id

)

select * from final
