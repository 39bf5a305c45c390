{#
    Xero's SubTotal is the invoice total before tax. LineAmount excludes tax when
    LineAmountTypes is Exclusive (or NoTax), and includes it when Inclusive, so:
      Exclusive / NoTax : sub_total = Σ line_amount
      Inclusive         : sub_total = Σ line_amount − Σ tax_amount
    Xero rounds per line, so a cent per line is tolerated. Invoices loaded without line
    items (summary rows) are not checked. Returns the invoices that do not reconcile.
    https://developer.xero.com/documentation/api/accounting/types#line-amount-types
#}
with

invoices as (

    select * from {{ ref('stg_xero__invoices') }}

),

line_items as (

    select * from {{ ref('int_invoice_line_items') }}

),

line_totals as (

    select
        invoice_id,
        count(*) as line_count,
        sum(line_amount) as line_amount,
        sum(coalesce(tax_amount, 0)) as tax_amount
    from line_items
    group by invoice_id

),

reconciled as (

    select
        invoices.invoice_id,
        invoices.invoice_number,
        invoices.line_amount_types,
        invoices.sub_total,
        case
            when invoices.line_amount_types = 'Inclusive'
                then line_totals.line_amount - line_totals.tax_amount
            else line_totals.line_amount
        end as sub_total_from_lines,
        line_totals.line_count
    from invoices
    inner join line_totals
        on invoices.invoice_id = line_totals.invoice_id

),

final as (

    select * from reconciled
    where abs(sub_total - sub_total_from_lines) > 0.01 * line_count

)

select * from final
