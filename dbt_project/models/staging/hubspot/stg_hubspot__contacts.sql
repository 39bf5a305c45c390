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
            try_cast({{ parse_hubspot_value('associatedcompanyid', 'number') }} as bigint)
            as varchar
        ) as primary_company_id,
        nullif(trim(xero_contact_id), '') as xero_contact_id,
        cast(hs_lastmodifieddate as timestamp with time zone) as hs_last_modified_at
    from source
    where coalesce(archived, false) = false

),

final as (

    select * from renamed
    qualify row_number() over (
        partition by hs_contact_id order by hs_last_modified_at desc nulls last
    ) = 1

)

select * from final
