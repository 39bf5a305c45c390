with

source as (

    select * from {{ source('raw_xero', 'allocations') }}

),

renamed as (

    select
        cast(allocation_key as varchar) as allocation_key,
        cast(tenant_id as varchar) as tenant_id,
        cast(source_type as varchar) as source_type,
        cast(source_id as varchar) as source_id,
        cast(invoice_id as varchar) as invoice_id,
        cast(amount as decimal(38, 9)) as amount,
        cast(allocation_date as date) as allocation_date,
        coalesce(cast(is_deleted as boolean), false) as is_deleted,
        cast(source_updated_date_utc as timestamp with time zone) as source_updated_at,
        _dlt_load_id as dlt_load_id

    from source

),

deduplicated as (

    {{ first_row_per('renamed', ['allocation_key'], ['source_updated_at desc', 'dlt_load_id desc']) }}

),

final as (

    select * from deduplicated

)

select * from final
