{#
    Every event that changed what an invoice owed, on its own date: the invoice itself (it
    owes its total from its invoice date), each payment, and each allocation of a credit note,
    overpayment or prepayment. The basis of fct_invoice_balances and of the inferred status
    transitions.

    Which invoices: those Xero has posted, i.e. currently AUTHORISED or PAID. A DRAFT or
    SUBMITTED invoice owes nothing yet; a VOIDED one owes nothing at any date (voiding
    reverses the invoice as if never posted, and Xero's reports drop it); only drafts can be
    DELETED. Deleted payments (status DELETED) and removed allocations (int_credit_allocations:
    flagged IsDeleted, no longer listed on their re-read credit, or of a voided credit) never
    happened as far as balances go: Xero takes them out of AmountPaid / AmountCredited.

    Events dated before the invoice date (not allowed by Xero) count from the invoice date.
    If the loaded payments and allocations do not explain the invoice's current amount due
    (total − events ≠ AmountDue, e.g. payments older than the payments extract), the
    difference is one UNEXPLAINED event on the invoice's FullyPaidOnDate, else on the local
    date of its last update, so today's balance always equals Xero's AmountDue;
    the test assert_balance_events_are_explained warns when that happens.

    A table, built like the incremental marts (macros/incremental_marts.sql): every event is of
    one invoice and depends only on what int_changed_invoices tracks for it, so an hourly build
    rebuilds the events of the changed invoices only. As a view it was computed again by each
    of its readers: both balance marts and its five data tests (issue 19).
#}
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
    where status in ('AUTHORISED', 'PAID')
    {{ changed_invoices_only('invoice_id', keyword='and') }}

),

organisations as (

    select * from {{ ref('stg_xero__organisations') }}

),

payments as (

    select * from {{ ref('stg_xero__payments') }}
    where status is distinct from 'DELETED'

),

allocations as (

    select * from {{ ref('int_credit_allocations') }}
    where not is_removed

),

issued as (

    select
        'INVOICE' as event_type,
        invoice_id as event_id,
        invoice_id,
        cast(null as varchar) as source_id,
        invoice_date as event_date,
        total as amount_change
    from invoices

),

paid as (

    select
        'PAYMENT' as event_type,
        payments.payment_id as event_id,
        payments.invoice_id,
        cast(null as varchar) as source_id,
        payments.payment_date as event_date,
        -payments.amount as amount_change
    from payments
    inner join invoices
        on payments.invoice_id = invoices.invoice_id

),

allocated as (

    select
        allocations.source_type as event_type,
        allocations.allocation_key as event_id,
        allocations.invoice_id,
        allocations.source_id,
        allocations.allocation_date as event_date,
        -allocations.amount as amount_change
    from allocations
    inner join invoices
        on allocations.invoice_id = invoices.invoice_id

),

known_events as (

    select * from issued
    union all
    select * from paid
    union all
    select * from allocated

),

explained as (

    select
        invoice_id,
        sum(amount_change) as balance_from_events
    from known_events
    group by invoice_id

),

unexplained as (

    select
        'UNEXPLAINED' as event_type,
        invoices.invoice_id as event_id,
        invoices.invoice_id,
        cast(null as varchar) as source_id,
        coalesce(
            invoices.fully_paid_on_date,
            cast(timezone(coalesce(organisations.timezone, 'UTC'), invoices.updated_at) as date)
        ) as event_date,
        invoices.amount_due - explained.balance_from_events as amount_change
    from invoices
    inner join explained
        on invoices.invoice_id = explained.invoice_id
    left join organisations
        on invoices.tenant_id = organisations.tenant_id
    where invoices.amount_due <> explained.balance_from_events

),

all_events as (

    select * from known_events
    union all
    select * from unexplained

),

final as (

    select
        all_events.event_type || ':' || all_events.event_id as balance_event_id,
        all_events.invoice_id,
        invoices.tenant_id,
        all_events.event_type,
        all_events.event_id,
        all_events.source_id,
        greatest(all_events.event_date, invoices.invoice_date) as event_date,
        cast(all_events.amount_change as decimal(38, 9)) as amount_change
    from all_events
    inner join invoices
        on all_events.invoice_id = invoices.invoice_id

)

select * from final
