{# The invoice records' associations with companies and contacts, as HubSpot holds them. #}
with

source as (

    select * from {{ source('raw_hubspot', 'invoice_associations') }}

),

final as (

    select distinct
        cast(invoice_hs_object_id as varchar) as invoice_hs_object_id,
        cast(to_object_type as varchar) as to_object_type,
        cast(to_object_id as varchar) as to_object_id
    from source

)

select * from final
