{#
    What each invoice owed over time, rebuilt from events (int_invoice_balance_events): from
    its invoice date an invoice owes its total, and each payment, credit-note allocation and
    overpayment/prepayment allocation lowers that on its own date. One row per stretch of
    days with the same non-zero amount owed at the end of each day: `valid_from` inclusive,
    `valid_to` exclusive (the date of the next change; null while it is today's balance).
    The history does not depend on when the sync first saw the invoice: an invoice first
    loaded already part-paid has its full past.

    Dates are the organisation's calendar dates (Xero's own `Date` fields), so no time-zone
    conversion is involved. Voided, deleted and draft invoices have no rows (see the events
    model). Periods, not days: rows grow with payments, not with invoices × days.
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

events as (

    select * from {{ ref('int_invoice_balance_events') }}
    {{ changed_invoices_only('invoice_id') }}

),

invoices as (

    select * from {{ ref('stg_xero__invoices') }}
    {{ changed_invoices_only('invoice_id') }}

),

organisations as (

    select * from {{ ref('stg_xero__organisations') }}

),

{# All events of one invoice on one day make one change. #}
daily_changes as (

    select
        invoice_id,
        event_date,
        sum(amount_change) as amount_change,
        sum(case when event_type = 'PAYMENT' then -amount_change else 0 end) as paid,
        sum(
            case
                when event_type in ('CREDITNOTE', 'OVERPAYMENT', 'PREPAYMENT') then -amount_change
                else 0
            end
        ) as credited,
        string_agg(distinct event_type, '+' order by event_type) as changed_by
    from events
    group by invoice_id, event_date

),

running as (

    select
        invoice_id,
        event_date as valid_from,
        lead(event_date) over (partition by invoice_id order by event_date) as valid_to,
        sum(amount_change) over (
            partition by invoice_id order by event_date rows unbounded preceding
        ) as amount_due,
        sum(paid) over (
            partition by invoice_id order by event_date rows unbounded preceding
        ) as amount_paid,
        sum(credited) over (
            partition by invoice_id order by event_date rows unbounded preceding
        ) as amount_credited,
        changed_by
    from daily_changes

),

final as (

    select
        running.invoice_id || '@' || {{ format_timestamp('running.valid_from', '%Y-%m-%d') }} as invoice_balance_id,
        running.invoice_id,
        running.valid_from,
        running.valid_to,
        invoices.tenant_id,
        invoices.invoice_type,
        invoices.invoice_number,
        invoices.contact_id,
        invoices.contact_name,
        invoices.currency_code,
        invoices.currency_rate,
        organisations.base_currency_code,
        invoices.invoice_date,
        invoices.due_date,
        invoices.total,
        cast(running.amount_paid as decimal(38, 9)) as amount_paid,
        cast(running.amount_credited as decimal(38, 9)) as amount_credited,
        cast(running.amount_due as decimal(38, 9)) as amount_due,
        {{ to_base_currency('running.amount_due', 'invoices.currency_rate') }}
            as amount_due_in_base_currency,
        running.changed_by
    from running
    inner join invoices
        on running.invoice_id = invoices.invoice_id
    left join organisations
        on invoices.tenant_id = organisations.tenant_id
    where running.amount_due <> 0

)

{{ select_contract_columns('final') }}
