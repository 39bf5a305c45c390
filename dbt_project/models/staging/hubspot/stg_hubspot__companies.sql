{#
    HubSpot companies as matching keys and the balance properties this tool writes. Domains are
    compared lower-cased without a leading "www."; '' is null. Archived companies are left out.
#}
with

source as (

    select * from {{ source('raw_hubspot', 'companies') }}

),

renamed as (

    select
        cast(hs_object_id as varchar) as hs_company_id,
        nullif(trim(name), '') as company_name,
        nullif(regexp_replace(lower(trim(domain)), '^www\.', ''), '') as domain,
        nullif(trim(xero_contact_id), '') as xero_contact_id,
        {{ parse_hubspot_value('xero_amount_outstanding', 'number') }} as xero_amount_outstanding,
        {{ parse_hubspot_value('xero_amount_overdue', 'number') }} as xero_amount_overdue,
        {{ parse_hubspot_value('xero_open_invoices', 'number') }} as xero_open_invoices,
        {{ parse_hubspot_value('xero_last_payment_date', 'date') }} as xero_last_payment_date,
        cast(hs_lastmodifieddate as timestamp with time zone) as hs_last_modified_at
    from source
    where coalesce(archived, false) = false

),

final as (

    {{ first_row_per('renamed', ['hs_company_id'], ['hs_last_modified_at desc nulls last']) }}

)

select * from final
