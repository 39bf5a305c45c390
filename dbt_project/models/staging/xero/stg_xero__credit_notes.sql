with

source as (

    select * from {{ source('raw_xero', 'credit_notes') }}
    {{ webhook_invoices_only('contact_id', grain='contact') }}

),

renamed as (

    select
        cast(credit_note_id as varchar) as credit_note_id,
        cast(tenant_id as varchar) as tenant_id,
        cast(credit_note_number as varchar) as credit_note_number,
        cast(credit_note_type as varchar) as credit_note_type,
        cast(status as varchar) as status,
        cast(contact_id as varchar) as contact_id,
        cast(credit_note_date as date) as credit_note_date,
        upper(cast(currency_code as varchar)) as currency_code,  -- ISO 4217 is upper case
        cast(currency_rate as decimal(38, 9)) as currency_rate,
        cast(sub_total as decimal(38, 9)) as sub_total,
        cast(total_tax as decimal(38, 9)) as total_tax,
        cast(total as decimal(38, 9)) as total,
        cast(remaining_credit as decimal(38, 9)) as remaining_credit,
        cast(updated_date_utc as timestamp with time zone) as updated_at,
        _dlt_load_id as dlt_load_id

    from source

),

deduplicated as (

    {{ first_row_per('renamed', ['credit_note_id'], ['updated_at desc', 'dlt_load_id desc']) }}

),

final as (

    select * from deduplicated

)

select * from final
