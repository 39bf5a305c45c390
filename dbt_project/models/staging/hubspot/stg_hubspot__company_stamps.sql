{#
    The `xero_contact_id` value invoice-sync last wrote to each company (the push's own log,
    raw_hubspot.company_stamps). A company whose current value differs from this — or that was
    never stamped — carries a value a person set, which wins in matching rule 1.
#}
with

source as (

    select * from {{ source('raw_hubspot', 'company_stamps') }}

),

renamed as (

    select
        cast(hs_company_id as varchar) as hs_company_id,
        nullif(xero_contact_id, '') as stamped_xero_contact_id,
        cast(stamped_at as timestamp with time zone) as stamped_at
    from source

),

final as (

    {{ first_row_per('renamed', ['hs_company_id'], ['stamped_at desc']) }}

)

select * from final
