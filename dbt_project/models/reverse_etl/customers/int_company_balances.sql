{#
    The balance roll-up: what each matched HubSpot company's Xero customers owe, from
    marts.dim_customers (base currency). Two Xero customers matched to one company: their
    balances are added, their open invoices counted together, the latest payment kept, and the
    lowest ContactID is the one stamped. One row per matched company.
    Ephemeral: a CTE of hubspot_company_actions, its one consumer.
#}
{{ config(materialized='ephemeral') }}

with

matches as (

    select * from {{ ref('customer_matches') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        matches.hs_company_id,
        min(matches.contact_id) as contact_id,
        sum(customers.receivables_outstanding) as outstanding,
        sum(customers.receivables_overdue) as overdue,
        sum(customers.open_invoice_count) as open_invoices,
        max(customers.last_payment_date) as last_payment_date
    from matches
    inner join customers
        on matches.contact_id = customers.contact_id
    where matches.hs_company_id is not null
    group by matches.hs_company_id

)

select * from final
