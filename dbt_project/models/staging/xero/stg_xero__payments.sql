with

source as (

    select * from {{ source('raw_xero', 'payments') }}
    {{ webhook_invoices_only('invoice_id') }}

),

renamed as (

    select
        cast(payment_id as varchar) as payment_id,
        cast(tenant_id as varchar) as tenant_id,
        cast(invoice_id as varchar) as invoice_id,
        cast(invoice_number as varchar) as invoice_number,
        cast(invoice_type as varchar) as invoice_type,
        cast(payment_date as date) as payment_date,
        cast(amount as decimal(38, 9)) as amount,
        cast(bank_amount as decimal(38, 9)) as bank_amount,
        cast(currency_rate as decimal(38, 9)) as currency_rate,
        cast(payment_type as varchar) as payment_type,
        cast(status as varchar) as status,
        cast(is_reconciled as boolean) as is_reconciled,
        nullif(cast(reference as varchar), '') as reference,
        cast(updated_date_utc as timestamp with time zone) as updated_at,
        _dlt_load_id as dlt_load_id

    from source

),

deduplicated as (

    {{ first_row_per('renamed', ['payment_id'], ['updated_at desc', 'dlt_load_id desc']) }}

),

final as (

    select * from deduplicated

)

select * from final
