{#
    Xero customers with no single HubSpot match, for a person to resolve by setting
    `xero_contact_id` on the right company in HubSpot (rule 1a then wins on the next run).
    `stopped_at_rule`: the first rule that found two or more candidates (no guess is made),
    or 'none' when no rule found any; `candidates`: that rule's companies (or contacts), as
    "id (name)".
#}
with

customers as (

    select distinct dim_customers.contact_id, dim_customers.tenant_id, dim_customers.contact_name
    from {{ ref('dim_customers') }} as dim_customers
    where dim_customers.contact_id in (
        select xero_contact_id from {{ ref('hubspot_invoices_desired') }}
    )

),

matches as (

    select contact_id from {{ ref('customer_matches') }}

),

candidates as (

    select * from {{ ref('customer_match_candidates') }}

),

ambiguous_rules as (

    select
        contact_id,
        rule,
        array_agg(distinct candidate_key || coalesce(' (' || company_name || ')', '') order by candidate_key || coalesce(' (' || company_name || ')', '')) as candidates
    from candidates
    group by contact_id, rule
    having count(distinct candidate_key) > 1

),

ambiguous as (

    {{ first_row_per('ambiguous_rules', ['contact_id'], ['rule']) }}

),

final as (

    select
        customers.contact_id,
        customers.tenant_id,
        customers.contact_name,
        coalesce(ambiguous.rule, 'none') as stopped_at_rule,
        coalesce(ambiguous.candidates, cast(array[] as varchar[])) as candidates
    from customers
    left join ambiguous
        on customers.contact_id = ambiguous.contact_id
    where customers.contact_id not in (select contact_id from matches)

)

select * from final
