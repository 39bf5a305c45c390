{#
    One row per Xero payment, with the invoice it paid. Deleted payments are kept and marked
    (`is_deleted`): Xero keeps them with status DELETED, and they no longer count towards the
    invoice (filter `not is_deleted` for money received). Base-currency amounts use the
    payment's own `CurrencyRate` (the rate on the day the money arrived).
#}
{{ config(
    materialized=incremental_mart_materialization(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_invoice_rows('payment_id', 'payments', payment_column='payment_id') }}",
) }}
{%- if not webhook_fast_path() %}
-- depends_on: {{ ref('int_changed_invoices') }}
{%- endif %}
with

payments as (

    select * from {{ ref('stg_xero__payments') }}
    {{ changed_invoices_only('invoice_id') }}
    {{ changed_invoices_only('payment_id', 'payment', keyword='or') }}

),

invoices as (

    select * from {{ ref('stg_xero__invoices') }}
    {{ changed_invoices_only('invoice_id') }}

),

organisations as (

    select * from {{ ref('stg_xero__organisations') }}

),

final as (

    select
        payments.payment_id,
        payments.tenant_id,
        payments.invoice_id,
        coalesce(invoices.invoice_number, payments.invoice_number) as invoice_number,
        coalesce(invoices.invoice_type, payments.invoice_type) as invoice_type,
        invoices.contact_id,
        invoices.contact_name,
        payments.payment_date,
        payments.payment_type,
        payments.status,
        payments.status = 'DELETED' as is_deleted,
        invoices.currency_code,
        payments.amount,
        payments.currency_rate,
        organisations.base_currency_code,
        {{ to_base_currency('payments.amount', 'payments.currency_rate') }}
            as amount_in_base_currency,
        payments.bank_amount,
        payments.is_reconciled,
        payments.reference,
        invoices.invoice_date,
        invoices.due_date,
        cast(payments.payment_date - invoices.due_date as integer) as days_after_due_date,
        payments.updated_at
    from payments
    left join invoices
        on payments.invoice_id = invoices.invoice_id
    left join organisations
        on payments.tenant_id = organisations.tenant_id

)

{{ select_contract_columns('final') }}
