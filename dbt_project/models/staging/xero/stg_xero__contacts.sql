with

source as (

    select * from {{ source('raw_xero', 'contacts') }}
    {{ webhook_invoices_only('contact_id', grain='contact') }}

),

renamed as (

    select
        cast(contact_id as varchar) as contact_id,
        cast(tenant_id as varchar) as tenant_id,
        cast(name as varchar) as contact_name,
        nullif(cast(first_name as varchar), '') as first_name,
        nullif(cast(last_name as varchar), '') as last_name,
        nullif(cast(email_address as varchar), '') as email_address,
        nullif(cast(account_number as varchar), '') as account_number,
        cast(contact_status as varchar) as contact_status,
        coalesce(cast(is_customer as boolean), false) as is_customer,
        coalesce(cast(is_supplier as boolean), false) as is_supplier,
        nullif(cast(default_currency as varchar), '') as default_currency,
        cast(ar_outstanding as decimal(38, 9)) as xero_ar_outstanding,
        cast(ar_overdue as decimal(38, 9)) as xero_ar_overdue,
        cast(ap_outstanding as decimal(38, 9)) as xero_ap_outstanding,
        cast(ap_overdue as decimal(38, 9)) as xero_ap_overdue,
        cast(updated_date_utc as timestamp with time zone) as updated_at,
        _dlt_load_id as dlt_load_id

    from source

),

deduplicated as (

    {{ first_row_per('renamed', ['contact_id'], ['updated_at desc', 'dlt_load_id desc']) }}

),

final as (

    select * from deduplicated

)

select * from final
