with

source as (

    select * from {{ source('raw_xero', 'prepayments') }}
    {{ webhook_invoices_only('contact_id', grain='contact') }}

),

renamed as (

    select
        cast(prepayment_id as varchar) as prepayment_id,
        cast(tenant_id as varchar) as tenant_id,
        cast(type as varchar) as prepayment_type,
        cast(contact_id as varchar) as contact_id,
        cast(date as date) as prepayment_date,
        cast(status as varchar) as status,
        upper(cast(currency_code as varchar)) as currency_code,  -- ISO 4217 is upper case
        cast(currency_rate as decimal(38, 9)) as currency_rate,
        cast(total as decimal(38, 9)) as total,
        cast(remaining_credit as decimal(38, 9)) as remaining_credit,
        cast(updated_date_utc as timestamp with time zone) as updated_at,
        _dlt_load_id as dlt_load_id

    from source

),

deduplicated as (

    {{ first_row_per('renamed', ['prepayment_id'], ['updated_at desc', 'dlt_load_id desc']) }}

),

final as (

    select * from deduplicated

)

select * from final
