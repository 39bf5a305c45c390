{#
    The create decision: the Xero customers invoice-sync creates a HubSpot company for, with
    var('hubspot_create_companies') only (HUBSPOT_CREATE_COMPANIES), and only those no rule
    found any candidate for (unmatched_customers.stopped_at_rule = 'none'): an ambiguous
    customer is never created, a person resolves it. The company's name is the Xero name, its
    domain the first (alphabetically) email domain of the customer that is not free mail
    (macro company_email_domain, the matching's own rule). One row per company to create.
    Ephemeral: a CTE of hubspot_company_actions, its one consumer.
#}
{{ config(materialized='ephemeral') }}
{%- set create_companies = var('hubspot_create_companies') in (true, 'true', 'True', '1', 1) %}

with

unmatched as (

    select * from {{ ref('unmatched_customers') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        unmatched.contact_id,
        customers.contact_name as name,
        (
            select min({{ company_email_domain('email') }})
            from (select unnest(customers.email_addresses) as email) as emails
        ) as domain,
        customers.receivables_outstanding,
        customers.receivables_overdue,
        customers.open_invoice_count,
        customers.last_payment_date
    from unmatched
    inner join customers
        on unmatched.contact_id = customers.contact_id
    where unmatched.stopped_at_rule = 'none'
        and {{ 'true' if create_companies else 'false' }}

)

select * from final
