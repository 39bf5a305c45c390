{#
    Credit each Xero contact holds that is not yet allocated to an invoice: the remaining
    credit of its authorised sales credit notes, received overpayments and received
    prepayments, in the organisation's base currency (each at its own rate, macros/finance.sql).
    Ephemeral: a CTE of dim_customers, its one consumer.
#}
{{ config(materialized='ephemeral') }}

with

credit_notes as (

    select * from {{ ref('stg_xero__credit_notes') }}

),

overpayments as (

    select * from {{ ref('stg_xero__overpayments') }}

),

prepayments as (

    select * from {{ ref('stg_xero__prepayments') }}

),

final as (

    select
        contact_id,
        sum({{ to_base_currency('remaining_credit', 'currency_rate') }}) as unallocated_credit
    from (
        select contact_id, remaining_credit, currency_rate
        from credit_notes
        where credit_note_type = 'ACCRECCREDIT' and status = 'AUTHORISED'
        union all
        select contact_id, remaining_credit, currency_rate
        from overpayments
        where overpayment_type = 'RECEIVE-OVERPAYMENT' and status = 'AUTHORISED'
        union all
        select contact_id, remaining_credit, currency_rate
        from prepayments
        where prepayment_type = 'RECEIVE-PREPAYMENT' and status = 'AUTHORISED'
    ) as open_credits
    where remaining_credit <> 0
    group by contact_id

)

select * from final
