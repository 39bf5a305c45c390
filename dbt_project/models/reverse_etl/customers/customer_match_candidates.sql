{#
    Every HubSpot company or contact that could be a Xero customer's, by rule (issue 13):

      1 `xero_contact_id` equals the ContactID — split into 1a, set by a person, and 1b, the
        value invoice-sync itself stamped (raw_hubspot.company_stamps says which), so that a
        person's correction always wins over the tool's earlier stamp;
      2 a HubSpot contact's email equals (case-insensitively) one of the customer's emails
        (the contact's own and its contact persons', dim_customers.email_addresses) → that
        contact and its primary company;
      3 a company's domain equals one of those emails' domains (free-mail domains, seed
        `free_mail_domains`, never match: macro company_email_domain);
      4 a company's name equals the Xero name after normalising case, punctuation and legal
        suffixes (seed `legal_suffixes`; macros/customer_matching.sql).

    One row per (customer, rule, candidate). `candidate_key` is what "one candidate" counts:
    the company, or the contact when it has no company.
    Customers: the Xero contacts of the invoices mirrored to HubSpot.
#}
with

customers as (

    select
        dim_customers.contact_id,
        dim_customers.contact_name,
        dim_customers.email_addresses
    from {{ ref('dim_customers') }} as dim_customers
    where dim_customers.contact_id in (
        select xero_contact_id from {{ ref('hubspot_invoices_desired') }}
    )

),

companies as (

    select * from {{ ref('stg_hubspot__companies') }}

),

contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

stamps as (

    select * from {{ ref('stg_hubspot__company_stamps') }}

),

suffixes as (

    select array_agg(lower(suffix)) as words from {{ ref('legal_suffixes') }}

),

customer_emails as (

    select
        customers.contact_id,
        unnest(customers.email_addresses) as email
    from customers

),

customer_domains as (

    select distinct
        contact_id,
        {{ company_email_domain('email') }} as domain
    from customer_emails
    where {{ company_email_domain('email') }} <> ''

),

by_company_id as (

    select
        customers.contact_id,
        case
            when stamps.stamped_xero_contact_id is not distinct from companies.xero_contact_id
                then '1b'
            else '1a'
        end as rule,
        companies.hs_company_id,
        cast(null as varchar) as hs_contact_id
    from customers
    inner join companies
        on companies.xero_contact_id = customers.contact_id
    left join stamps
        on companies.hs_company_id = stamps.hs_company_id

),

by_contact_id as (

    select
        customers.contact_id,
        '1a' as rule,
        contacts.primary_company_id as hs_company_id,
        contacts.hs_contact_id
    from customers
    inner join contacts
        on contacts.xero_contact_id = customers.contact_id

),

by_email as (

    select distinct
        customer_emails.contact_id,
        '2' as rule,
        contacts.primary_company_id as hs_company_id,
        contacts.hs_contact_id
    from customer_emails
    inner join contacts
        on contacts.email = customer_emails.email

),

by_domain as (

    select distinct
        customer_domains.contact_id,
        '3' as rule,
        companies.hs_company_id,
        cast(null as varchar) as hs_contact_id
    from customer_domains
    inner join companies
        on companies.domain = customer_domains.domain

),

by_name as (

    select
        customers.contact_id,
        '4' as rule,
        companies.hs_company_id,
        cast(null as varchar) as hs_contact_id
    from customers
    cross join suffixes
    inner join companies
        on {{ normalise_company_name('companies.company_name', 'suffixes.words') }}
            = {{ normalise_company_name('customers.contact_name', 'suffixes.words') }}

),

unioned as (

    select * from by_company_id
    union all
    select * from by_contact_id
    union all
    select * from by_email
    union all
    select * from by_domain
    union all
    select * from by_name

),

final as (

    select
        unioned.contact_id,
        unioned.rule,
        unioned.hs_company_id,
        unioned.hs_contact_id,
        coalesce(unioned.hs_company_id, 'contact:' || unioned.hs_contact_id) as candidate_key,
        companies.company_name
    from unioned
    left join companies
        on unioned.hs_company_id = companies.hs_company_id

)

select * from final
