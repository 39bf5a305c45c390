{#
    Receivables today, per invoice, in the usual ageing buckets. "Today" is the calendar date
    now in each organisation's own time zone (raw_xero.organisations.timezone), or
    var('as_of_date') for every organisation: the same query then ages receivables as they
    stood at the end of that day (balances from fct_invoice_balances, so payments dated later
    do not count).

    Sales invoices only (ACCREC) with a non-zero balance. Buckets by days past the due date:
    `current` (not yet due or due today), `1-30`, `31-60`, `61-90`, `90+`. Amounts in the
    invoice currency and in the organisation's base currency (macros/finance.sql: exact
    quotient, half-even to the cent).
#}
with

balances as (

    select * from {{ ref('fct_invoice_balances') }}
    where invoice_type = 'ACCREC'

),

organisations as (

    select * from {{ ref('stg_xero__organisations') }}

),

contacts as (

    select * from {{ ref('stg_xero__contacts') }}

),

as_of as (

    select
        balances.*,
        {{ organisation_today('organisations.timezone') }} as as_of_date
    from balances
    left join organisations
        on balances.tenant_id = organisations.tenant_id

),

outstanding as (

    select
        *,
        greatest(cast(as_of_date - due_date as integer), 0) as days_overdue
    from as_of
    where valid_from <= as_of_date
        and (valid_to is null or as_of_date < valid_to)

),

final as (

    select
        outstanding.invoice_id,
        outstanding.tenant_id,
        outstanding.as_of_date,
        outstanding.invoice_number,
        outstanding.contact_id,
        coalesce(contacts.contact_name, outstanding.contact_name) as contact_name,
        outstanding.invoice_date,
        outstanding.due_date,
        outstanding.days_overdue,
        case
            when outstanding.days_overdue = 0 then 'current'
            when outstanding.days_overdue <= 30 then '1-30'
            when outstanding.days_overdue <= 60 then '31-60'
            when outstanding.days_overdue <= 90 then '61-90'
            else '90+'
        end as aging_bucket,
        outstanding.currency_code,
        outstanding.currency_rate,
        outstanding.total,
        outstanding.amount_due,
        outstanding.base_currency_code,
        outstanding.amount_due_in_base_currency
    from outstanding
    left join contacts
        on outstanding.contact_id = contacts.contact_id

)

select * from final
