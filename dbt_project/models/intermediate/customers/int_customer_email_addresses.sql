{#
    Every email address of each Xero contact, lower-cased: the contact's own and those of its
    contact persons, only the persons read with the contact's current version
    (docs/contracts.md). Ephemeral: a CTE of dim_customers, its one consumer.
#}
{{ config(materialized='ephemeral') }}

with

contacts as (

    select * from {{ ref('stg_xero__contacts') }}

),

contact_persons as (

    select * from {{ ref('stg_xero__contact_persons') }}

),

final as (

    select
        contacts.contact_id,
        array_agg(distinct lower(email) order by lower(email)) filter (where email is not null) as email_addresses
    from contacts
    left join (
        select contact_persons.contact_id, contact_persons.email_address as email
        from contact_persons
        inner join contacts as current_contacts
            on contact_persons.contact_id = current_contacts.contact_id
            and contact_persons.contact_updated_at = current_contacts.updated_at
        union all
        select contact_id, email_address as email from contacts
    ) as emails
        on contacts.contact_id = emails.contact_id
    group by contacts.contact_id

)

select * from final
