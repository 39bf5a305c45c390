with

source as (

    select * from {{ source('raw_xero', 'invoices') }}
    {{ webhook_invoices_only('invoice_id') }}

),

renamed as (

    select
        cast(invoice_id as varchar) as invoice_id,
        cast(tenant_id as varchar) as tenant_id,
        cast(invoice_type as varchar) as invoice_type,
        cast(invoice_number as varchar) as invoice_number,
        nullif(cast(reference as varchar), '') as reference,
        cast(status as varchar) as status,
        cast(line_amount_types as varchar) as line_amount_types,
        cast(contact_id as varchar) as contact_id,
        cast(contact_name as varchar) as contact_name,
        cast(invoice_date as date) as invoice_date,
        cast(due_date as date) as due_date,
        cast(expected_payment_date as date) as expected_payment_date,
        cast(fully_paid_on_date as date) as fully_paid_on_date,
        upper(cast(currency_code as varchar)) as currency_code,  -- ISO 4217 is upper case
        cast(currency_rate as decimal(38, 9)) as currency_rate,
        cast(sub_total as decimal(38, 9)) as sub_total,
        cast(total_tax as decimal(38, 9)) as total_tax,
        cast(total as decimal(38, 9)) as total,
        cast(total_discount as decimal(38, 9)) as total_discount,
        cast(amount_due as decimal(38, 9)) as amount_due,
        cast(amount_paid as decimal(38, 9)) as amount_paid,
        cast(amount_credited as decimal(38, 9)) as amount_credited,
        cast(has_attachments as boolean) as has_attachments,
        cast(sent_to_contact as boolean) as sent_to_contact,
        cast(is_discounted as boolean) as is_discounted,
        cast(updated_date_utc as timestamp with time zone) as updated_at,
        nullif(cast(url as varchar), '') as source_document_url,
        _dlt_id as dlt_row_id,
        _dlt_load_id as dlt_load_id

    from source

),

deduplicated as (

    {{ first_row_per('renamed', ['invoice_id'], ['updated_at desc', 'dlt_load_id desc']) }}

),

final as (

    select * from deduplicated

)

select * from final
