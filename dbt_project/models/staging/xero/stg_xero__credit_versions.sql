with

source as (

    select * from {{ source('raw_xero', 'credit_versions') }}

),

renamed as (

    select
        cast(source_type as varchar) as source_type,
        cast(source_id as varchar) as source_id,
        cast(tenant_id as varchar) as tenant_id,
        cast(source_updated_date_utc as timestamp with time zone) as source_updated_at,
        cast(status as varchar) as status,
        cast(allocations_listed as bigint) as allocations_listed,
        _dlt_load_id as dlt_load_id

    from source

),

deduplicated as (

    {{ first_row_per('renamed', ['source_type', 'source_id', 'source_updated_at'], ['dlt_load_id desc']) }}

),

final as (

    select * from deduplicated

)

select * from final
