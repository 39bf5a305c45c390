{#
    What each invoice (and so each customer) owed over time, as validity periods: one row per
    stretch of days during which the invoice was outstanding (status AUTHORISED, amount due not
    zero) at the end of each day, with the amount due of the last version observed by then.
    `valid_from` is inclusive, `valid_to` exclusive (null: still the balance today).

    Periods, not one row per day: rows grow with the number of versions, not with invoices ×
    days outstanding (a day-grain table of 100,000 invoices runs to tens of millions of rows).

    Built from the observed versions: history starts at the first version the extract saw
    (a full load of old invoices knows only their current state).
#}
with

versions as (

    select * from {{ ref('stg_xero__invoice_versions') }}

),

{# Several versions on one day: the last one is the balance at the end of that day. #}
end_of_day_versions as (

    select
        *,
        cast(timezone('UTC', updated_at) as date) as effective_date
    from versions
    qualify row_number() over (
        partition by invoice_id, cast(timezone('UTC', updated_at) as date)
        order by updated_at desc
    ) = 1

),

periods as (

    select
        *,
        lead(effective_date) over (
            partition by invoice_id order by effective_date
        ) as next_effective_date
    from end_of_day_versions

),

final as (

    select
        invoice_id || '@' || strftime(effective_date, '%Y-%m-%d') as invoice_balance_id,
        invoice_id,
        effective_date as valid_from,
        next_effective_date as valid_to,
        tenant_id,
        invoice_type,
        invoice_number,
        contact_id,
        contact_name,
        currency_code,
        currency_rate,
        due_date,
        total,
        amount_due,
        cast(round(amount_due / nullif(currency_rate, 0), 2) as decimal(38, 2))
            as amount_due_in_base_currency,
        updated_at as as_of_updated_at
    from periods
    where status = 'AUTHORISED'
        and amount_due <> 0

)

select * from final
