with

invoices as (

    select * from {{ ref('stg_xero__invoices') }}

),

line_items as (

    select * from {{ ref('int_invoice_line_items') }}

),

line_item_counts as (

    select
        invoice_id,
        count(*) as line_item_count
    from line_items
    group by invoice_id

),

{# "Today" in UTC, fixed when the table is built. #}
build_date as (

    select cast(timezone('UTC', current_timestamp) as date) as today

),

enriched as (

    select
        invoices.*,
        coalesce(line_item_counts.line_item_count, 0) as line_item_count,
        invoices.status = 'AUTHORISED' and invoices.amount_due > 0 as is_outstanding,
        build_date.today
    from invoices
    cross join build_date
    left join line_item_counts
        on invoices.invoice_id = line_item_counts.invoice_id

),

final as (

    select
        invoice_id,
        tenant_id,
        invoice_type,
        invoice_number,
        reference,
        status,
        line_amount_types,
        contact_id,
        contact_name,
        currency_code,
        currency_rate,
        invoice_date,
        due_date,
        expected_payment_date,
        fully_paid_on_date,
        sub_total,
        total_tax,
        total,
        total_discount,
        amount_due,
        amount_paid,
        amount_credited,
        {# Division is done in double, then rounded to cents: exact for amounts below 10^13. #}
        cast(round(total / nullif(currency_rate, 0), 2) as decimal(38, 2))
            as total_in_base_currency,
        cast(round(amount_due / nullif(currency_rate, 0), 2) as decimal(38, 2))
            as amount_due_in_base_currency,
        is_outstanding,
        case
            when is_outstanding and due_date < today then cast(today - due_date as integer)
            else 0
        end as days_overdue,
        line_item_count,
        has_attachments,
        sent_to_contact,
        is_discounted,
        updated_at,
        {# Xero deep links: https://developer.xero.com/documentation/api-guides/deep-link-xero #}
        case invoice_type
            when 'ACCREC'
                then 'https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID=' || invoice_id
            when 'ACCPAY'
                then 'https://go.xero.com/AccountsPayable/Edit.aspx?InvoiceID=' || invoice_id
        end as xero_url,
        source_document_url

    from enriched

)

select * from final
