{#
    The balance history rebuilt from events ends where Xero is today: an AUTHORISED invoice's
    open period (valid_to null) holds its AmountDue, and a PAID or voided invoice has no open
    period.
#}
with

open_periods as (

    select * from {{ ref('fct_invoice_balances') }}
    where valid_to is null

),

invoices as (

    select * from {{ ref('fct_invoices') }}

),

final as (

    select
        invoices.invoice_id,
        invoices.status,
        invoices.amount_due,
        open_periods.amount_due as balance_amount_due
    from invoices
    left join open_periods
        on invoices.invoice_id = open_periods.invoice_id
    where coalesce(open_periods.amount_due, 0) <> case
        when invoices.status = 'AUTHORISED' then invoices.amount_due
        else 0
    end

)

select * from final
