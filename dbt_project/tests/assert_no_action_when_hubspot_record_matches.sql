{#
    An invoice whose HubSpot record already holds every desired value gets no action. Checked
    by a second route, independent of the model's parse-and-compare: HubSpot's parsed values
    are formatted back into the HubSpot format we send (macros/hubspot_formats.sql) and
    compared as strings with the desired row. Only the invoices with an action can fail it,
    so only theirs are read (the hourly build runs it: the action table holds a few rows).
#}
{%- set properties = hubspot_invoice_properties() -%}

with

actions as (

    select * from {{ ref('hubspot_invoice_actions') }}

),

desired as (

    select * from {{ ref('hubspot_invoices_desired') }}
    where xero_invoice_id in (select xero_invoice_id from actions)

),

hubspot_records as (

    select * from {{ ref('stg_hubspot__invoice_records') }}
    where xero_invoice_id in (select xero_invoice_id from actions)

),

hubspot_as_sent as (

    select
        hs_object_id,
        {%- for property in properties %}
        {%- if property.type == 'number' %}
        {{ to_hubspot_number(property.name) }} as {{ property.name }}
        {%- elif property.type == 'date' %}
        {{ to_hubspot_date(property.name) }} as {{ property.name }}
        {%- elif property.type == 'datetime' %}
        {{ to_hubspot_datetime(property.name) }} as {{ property.name }}
        {%- else %}
        {{ property.name }}
        {%- endif %}{{ "," if not loop.last }}
        {%- endfor %}
    from hubspot_records

),

matching as (

    select desired.xero_invoice_id
    from desired
    inner join hubspot_as_sent
        on desired.xero_invoice_id = hubspot_as_sent.xero_invoice_id
    where
        {%- for property in properties %}
        desired.{{ property.name }} is not distinct from hubspot_as_sent.{{ property.name }}
        {{- " and" if not loop.last }}
        {%- endfor %}

),

final as (

    select actions.xero_invoice_id, actions.action, actions.changed_properties
    from actions
    inner join matching
        on actions.xero_invoice_id = matching.xero_invoice_id

)

select * from final
