{#
    Each Xero customer's HubSpot company and contact. The rules are tried in order (1a, 1b, 2,
    3, 4; see customer_match_candidates); the first rule that finds any candidate decides: one
    company (or one contact without a company) is the match, two or more stop the matching —
    no guess, no fall-through to a weaker rule — and the customer is in unmatched_customers.

    The contact: the candidate contact of the winning rule when it names one, else the contact
    whose email is one of the customer's (rule 2's candidates) at the matched company — the
    lowest id when several are.
#}
with

candidates as (

    select * from {{ ref('customer_match_candidates') }}

),

rules as (

    select
        contact_id,
        rule,
        count(distinct candidate_key) as candidate_count,
        min(hs_company_id) as hs_company_id,
        min(hs_contact_id) as rule_contact_id
    from candidates
    group by contact_id, rule

),

first_rule as (

    {{ first_row_per('rules', ['contact_id'], ['rule']) }}

),

winning as (

    select * from first_rule
    where candidate_count = 1

),

email_contacts as (

    select contact_id, hs_company_id, min(hs_contact_id) as hs_contact_id
    from candidates
    where rule = '2'
    group by contact_id, hs_company_id

),

final as (

    select
        winning.contact_id,
        winning.rule as match_rule,
        winning.hs_company_id,
        coalesce(winning.rule_contact_id, email_contacts.hs_contact_id) as hs_contact_id
    from winning
    left join email_contacts
        on winning.contact_id = email_contacts.contact_id
        and winning.hs_company_id is not distinct from email_contacts.hs_company_id

)

select * from final
