{#
    One row per allocation of a credit to an invoice: credit notes, and also overpayments and
    prepayments (`source_type`), since all three lower what an invoice owes the same way
    (Xero's `AmountCredited`). Removed allocations are kept and marked (`is_deleted`); they
    no longer count. Base-currency amounts use the credit's own `CurrencyRate`.
#}
with

allocations as (

    select * from {{ ref('stg_xero__allocations') }}

),

credit_notes as (

    select
        credit_note_id as source_id,
        'CREDITNOTE' as source_type,
        credit_note_number as source_number,
        credit_note_type as source_subtype,
        contact_id,
        credit_note_date as source_date,
        currency_code,
        currency_rate
    from {{ ref('stg_xero__credit_notes') }}

),

overpayments as (

    select
        overpayment_id as source_id,
        'OVERPAYMENT' as source_type,
        cast(null as varchar) as source_number,
        overpayment_type as source_subtype,
        contact_id,
        overpayment_date as source_date,
        currency_code,
        currency_rate
    from {{ ref('stg_xero__overpayments') }}

),

prepayments as (

    select
        prepayment_id as source_id,
        'PREPAYMENT' as source_type,
        cast(null as varchar) as source_number,
        prepayment_type as source_subtype,
        contact_id,
        prepayment_date as source_date,
        currency_code,
        currency_rate
    from {{ ref('stg_xero__prepayments') }}

),

sources as (

    select * from credit_notes
    union all
    select * from overpayments
    union all
    select * from prepayments

),

invoices as (

    select * from {{ ref('stg_xero__invoices') }}

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
        sources.source_number,
        sources.source_subtype,
        sources.source_date,
        allocations.invoice_id,
        invoices.invoice_number,
        invoices.invoice_type,
        coalesce(invoices.contact_id, sources.contact_id) as contact_id,
        allocations.allocation_date,
        allocations.is_deleted,
        coalesce(sources.currency_code, invoices.currency_code) as currency_code,
        allocations.amount,
        coalesce(sources.currency_rate, invoices.currency_rate) as currency_rate,
        organisations.base_currency_code,
        {{ to_base_currency(
            'allocations.amount',
            'coalesce(sources.currency_rate, invoices.currency_rate)'
        ) }} as amount_in_base_currency
    from allocations
    left join sources
        on allocations.source_type = sources.source_type
        and allocations.source_id = sources.source_id
    left join invoices
        on allocations.invoice_id = invoices.invoice_id
    left join organisations
        on allocations.tenant_id = organisations.tenant_id

)

select * from final
