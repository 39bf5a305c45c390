with

source as (

    select * from {{ source('raw_xero', 'contact_persons') }}
    {{ webhook_invoices_only('contact_id', grain='contact') }}

),

renamed as (

    select
        cast(contact_id as varchar) || '#' || cast(person_index as varchar) as contact_person_id,
        cast(contact_id as varchar) as contact_id,
        cast(person_index as integer) as person_index,
        cast(tenant_id as varchar) as tenant_id,
        nullif(cast(first_name as varchar), '') as first_name,
        nullif(cast(last_name as varchar), '') as last_name,
        nullif(cast(email_address as varchar), '') as email_address,
        coalesce(cast(include_in_emails as boolean), false) as include_in_emails,
        cast(contact_updated_date_utc as timestamp with time zone) as contact_updated_at

    from source

),

deduplicated as (

    {{ first_row_per('renamed', ['contact_person_id'], ['contact_updated_at desc']) }}

),

final as (

    select * from deduplicated

)

select * from final
