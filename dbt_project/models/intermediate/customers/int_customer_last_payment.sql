{#
    The date of each Xero contact's latest payment on a sales invoice (deleted payments do not
    count). Ephemeral: a CTE of dim_customers, its one consumer.
#}
{{ config(materialized='ephemeral') }}

with

payments as (

    select * from {{ ref('fct_payments') }}

),

final as (

    select
        contact_id,
        max(payment_date) as last_payment_date
    from payments
    where not is_deleted
        and invoice_type = 'ACCREC'
    group by contact_id

)

select * from final
