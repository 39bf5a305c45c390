{#
    HubSpot contacts: lower-cased email, the primary company (`associatedcompanyid`, a number
    property HubSpot keeps from the primary company association) and `xero_contact_id`.
#}
with

source as (

    select * from {{ source('raw_hubspot', 'contacts') }}

),

renamed as (

    select
        cast(hs_object_id as varchar) as hs_contact_id,
        nullif(lower(trim(email)), '') as email,
        cast(
            {{ try_cast_as(parse_hubspot_value('associatedcompanyid', 'number'), 'bigint', from_text=false) }}
            as varchar
        ) as primary_company_id,
        nullif(trim(xero_contact_id), '') as xero_contact_id,
        cast(hs_lastmodifieddate as timestamp with time zone) as hs_last_modified_at
    from source
    where coalesce(archived, false) = false

),

final as (

    {{ first_row_per('renamed', ['hs_contact_id'], ['hs_last_modified_at desc nulls last']) }}

)

select * from final
