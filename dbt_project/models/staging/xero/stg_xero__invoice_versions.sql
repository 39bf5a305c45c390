with

source as (

    select * from {{ source('raw_xero', 'invoice_versions') }}
    {{ webhook_invoices_only('invoice_id') }}

),

renamed as (

    select
        cast(invoice_id as varchar) as invoice_id,
        cast(updated_date_utc as timestamp with time zone) as updated_at,
        cast(tenant_id as varchar) as tenant_id,
        cast(invoice_type as varchar) as invoice_type,
        cast(invoice_number as varchar) as invoice_number,
        cast(status as varchar) as status,
        cast(contact_id as varchar) as contact_id,
        cast(contact_name as varchar) as contact_name,
        cast(invoice_date as date) as invoice_date,
        cast(due_date as date) as due_date,
        cast(fully_paid_on_date as date) as fully_paid_on_date,
        cast(currency_code as varchar) as currency_code,
        cast(currency_rate as decimal(38, 9)) as currency_rate,
        cast(total as decimal(38, 9)) as total,
        cast(amount_due as decimal(38, 9)) as amount_due,
        cast(amount_paid as decimal(38, 9)) as amount_paid,
        cast(amount_credited as decimal(38, 9)) as amount_credited,
        _dlt_load_id as dlt_load_id

    from source

),

deduplicated as (

    {{ first_row_per('renamed', ['invoice_id', 'updated_at'], ['dlt_load_id desc']) }}

),

final as (

    select
        invoice_id || '@' || {{ format_timestamp("timezone('UTC', updated_at)", '%Y-%m-%dT%H:%M:%S.%fZ') }}
            as invoice_version_id,
        *
    from deduplicated

)

select * from final
