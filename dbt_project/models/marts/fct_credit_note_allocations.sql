{#
    One row per allocation of a credit to an invoice: credit notes, and also overpayments and
    prepayments (`source_type`), since all three lower what an invoice owes the same way
    (Xero's `AmountCredited`). Removed allocations are kept and marked (`is_deleted`, with
    `removed_seen_at`): flagged IsDeleted by Xero, no longer listed on their re-read credit,
    or of a voided credit (int_credit_allocations); they no longer count. Base-currency
    amounts use the credit's own `CurrencyRate`.
#}
{{ config(
    materialized=incremental_mart_materialization(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_invoice_rows('allocation_key', 'allocations', with_null_invoice=true) }}",
) }}
{%- if not webhook_fast_path() %}
-- depends_on: {{ ref('int_changed_invoices') }}
-- depends_on: {{ ref('stg_xero__allocations') }}
{%- endif %}
with

allocations as (

    select * from {{ ref('int_credit_allocations') }}
    {{ changed_invoices_only('invoice_id') }}
    {%- if building_incrementally() %} or invoice_id is null{% endif %}

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
        allocations.allocation_key,
        allocations.tenant_id,
        allocations.source_type,
        allocations.source_id,
        allocations.source_number,
        allocations.source_subtype,
        allocations.source_date,
        allocations.invoice_id,
        invoices.invoice_number,
        invoices.invoice_type,
        coalesce(invoices.contact_id, allocations.source_contact_id) as contact_id,
        allocations.allocation_date,
        allocations.is_removed as is_deleted,
        allocations.removed_seen_at,
        coalesce(allocations.source_currency_code, invoices.currency_code) as currency_code,
        allocations.amount,
        coalesce(allocations.source_currency_rate, invoices.currency_rate) as currency_rate,
        organisations.base_currency_code,
        {{ to_base_currency(
            'allocations.amount',
            'coalesce(allocations.source_currency_rate, invoices.currency_rate)'
        ) }} as amount_in_base_currency
    from allocations
    left join invoices
        on allocations.invoice_id = invoices.invoice_id
    left join organisations
        on allocations.tenant_id = organisations.tenant_id

)

{{ select_contract_columns('final') }}
