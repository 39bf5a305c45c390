{#
    The writes that bring HubSpot in step with Xero: INSERT when no live HubSpot record carries
    the invoice's xero_invoice_id, UPDATE when any property differs, no row when nothing does.

    Both sides are parsed with the same macro before the comparison (numbers as decimals, dates
    as dates, datetimes as instants, '' as null) and compared with `is distinct from`, so the
    spelling HubSpot echoes ("100" vs "100.00", epoch ms vs YYYY-MM-DD) never causes a write,
    while a value edited by hand in HubSpot always does (Xero is the source of truth).
#}
{#- The table's comment names the dbt invocation that built it: the push logs it and never
    sends the same build twice (reverse_etl/push/invoices.py). -#}
{#- Hourly, only the invoices int_hubspot_changed_invoices lists are compared again
    (macros/incremental_reverse_etl.sql): the other invoices' actions are those of the last
    build, whose inputs did not change for them. -#}
{{ config(
    materialized=incremental_reverse_etl_materialization(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_hubspot_changed_invoice_rows('hubspot_invoices_desired') }}",
    post_hook="comment on table {{ this }} is '{{ invocation_id }}'",
) }}
{%- set properties = hubspot_invoice_properties() -%}
{%- if not webhook_fast_path() %}
-- depends_on: {{ ref('int_hubspot_changed_invoices') }}
{%- endif %}

with

desired as (

    select * from {{ ref('hubspot_invoices_desired') }}
    {{ hubspot_changed_invoices_only('xero_invoice_id') }}

),

hubspot_records as (

    select * from {{ ref('stg_hubspot__invoice_records') }}
    {{ hubspot_changed_invoices_only('xero_invoice_id') }}

),

compared as (

    select
        desired.*,
        hubspot_records.hs_object_id,
        {% call drop_nulls() %}
            array[
                {%- for property in properties %}
                case
                    when {{ parse_hubspot_value('desired.' ~ property.name, property.type) }}
                        is distinct from hubspot_records.{{ property.name }}
                        then '{{ property.name }}'
                end{{ "," if not loop.last }}
                {%- endfor %}
            ]
        {% endcall %} as differing_properties,
        {% call drop_nulls() %}
            array[
                {%- for property in properties %}
                case when desired.{{ property.name }} is not null then '{{ property.name }}' end
                {{- "," if not loop.last }}
                {%- endfor %}
            ]
        {% endcall %} as set_properties
    from desired
    left join hubspot_records
        on desired.xero_invoice_id = hubspot_records.xero_invoice_id

),

actions as (

    select
        *,
        case
            when hs_object_id is null then 'INSERT'
            when cardinality(differing_properties) > 0 then 'UPDATE'
        end as action
    from compared

),

final as (

    select
        xero_invoice_id,
        action,
        hs_object_id,
        cast(
            case action when 'INSERT' then set_properties else differing_properties end
            as varchar[]
        ) as changed_properties,
        {%- for property in properties if property.name != 'xero_invoice_id' %}
        {{ property.name }}{{ "," if not loop.last }}
        {%- endfor %}
    from actions
    where action is not null

)

{{ select_contract_columns('final') }}
