{#
    HubSpot echoes property values as strings in its own spellings; each is parsed here to the
    type it is compared as (see macros/hubspot_formats.sql), so the diff downstream compares
    values: a number as decimal, a date as date, a datetime as a UTC instant at millisecond
    precision, and '' as null.
#}
with

source as (

    select * from {{ source('raw_hubspot', 'invoice_records') }}
    {{ webhook_invoices_only('xero_invoice_id') }}

),

parsed as (

    select
        cast(hs_object_id as varchar) as hs_object_id,
        {%- for property in hubspot_invoice_properties() %}
        {{ parse_hubspot_value(property.name, property.type) }} as {{ property.name }},
        {%- endfor %}
        cast(hs_createdate as timestamp with time zone) as hs_created_at,
        cast(hs_lastmodifieddate as timestamp with time zone) as hs_last_modified_at,
        _dlt_load_id as dlt_load_id

    from source
    where coalesce(archived, false) = false

),

{# xero_invoice_id is unique in HubSpot; should two live rows claim one invoice, the most
   recently modified one is the record we keep in step. #}
deduplicated as (

    {{ first_row_per('parsed', ['xero_invoice_id'], ['hs_last_modified_at desc nulls last', 'dlt_load_id desc', 'hs_object_id desc'], where="xero_invoice_id is not null") }}

),

final as (

    select * from deduplicated

)

select * from final
