{#
    What each customer owed on each day. For every invoice and every UTC day on which it was
    outstanding (status AUTHORISED, amount due not zero) at the end of the day, one row with the
    amount due as of the last version observed that day or before. Days when nothing was owed
    have no row, so sums over a contact and a date answer "what did X owe on D".

    Built from the observed versions: history starts at the first version the extract saw
    (a full load of old invoices knows only their current state).
#}
with

versions as (

    select * from {{ ref('stg_xero__invoice_versions') }}

),

build_date as (

    select cast(timezone('UTC', current_timestamp) as date) as today

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

validity as (

    select
        end_of_day_versions.*,
        coalesce(
            lead(effective_date) over (partition by invoice_id order by effective_date) - 1,
            build_date.today
        ) as effective_to_date
    from end_of_day_versions
    cross join build_date

),

outstanding_days as (

    select
        validity.*,
        cast(
            unnest(generate_series(effective_date, effective_to_date, interval 1 day)) as date
        ) as balance_date
    from validity
    where status = 'AUTHORISED'
        and amount_due <> 0
        and effective_date <= effective_to_date

),

final as (

    select
        invoice_id || '@' || strftime(balance_date, '%Y-%m-%d') as invoice_balance_id,
        balance_date,
        invoice_id,
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
        greatest(cast(balance_date - due_date as integer), 0) as days_overdue,
        updated_at as as_of_updated_at
    from outstanding_days

)

select * from final
