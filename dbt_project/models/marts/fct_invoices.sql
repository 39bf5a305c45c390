{{ config(
    materialized=incremental_mart_materialization(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_invoice_rows() }}",
) }}
{%- if not webhook_fast_path() %}
-- depends_on: {{ ref('int_changed_invoices') }}
{%- endif %}
with

invoices as (

    select * from {{ ref('stg_xero__invoices') }}
    {{ changed_invoices_only('invoice_id') }}

),

line_items as (

    select * from {{ ref('int_invoice_line_items') }}
    {{ changed_invoices_only('invoice_id') }}

),

line_item_counts as (

    select
        invoice_id,
        count(*) as line_item_count
    from line_items
    group by invoice_id

),

organisations as (

    select * from {{ ref('stg_xero__organisations') }}

),

enriched as (

    select
        invoices.*,
        coalesce(line_item_counts.line_item_count, 0) as line_item_count,
        invoices.status = 'AUTHORISED' and invoices.amount_due > 0 as is_outstanding,
        organisations.base_currency_code,
        {# "Today" in the organisation's time zone when the table is built (var as_of_date). #}
        {{ organisation_today('organisations.timezone') }} as today
    from invoices
    left join organisations
        on invoices.tenant_id = organisations.tenant_id
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
        base_currency_code,
        {{ to_base_currency('sub_total', 'currency_rate') }} as sub_total_in_base_currency,
        {{ to_base_currency('total', 'currency_rate') }} as total_in_base_currency,
        {{ to_base_currency('amount_due', 'currency_rate') }} as amount_due_in_base_currency,
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

{{ select_contract_columns('final') }}
