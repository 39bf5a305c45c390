{#
    HubSpot value formats, both directions. HubSpot property values travel as strings
    (CRM properties API v3): `number` as a decimal string, `date` as midnight UTC
    (`YYYY-MM-DD` or epoch milliseconds), `datetime` as ISO 8601 or epoch milliseconds.
    https://developers.hubspot.com/docs/api/crm/properties

    to_hubspot_*   : typed warehouse value -> the string we send (one canonical format).
    parse_hubspot_value : any string HubSpot may echo -> a typed value, so that the diff in
                          hubspot_invoice_actions compares values, never spellings
                          ("100" = "100.00", "2024-01-05" = "1704412800000", with or without
                          milliseconds, '' = null).
#}

{# Exact decimal as a plain string without trailing zeros: 1234.50 -> '1234.5', 100.00 -> '100'. #}
{% macro to_hubspot_number(expression) -%}
    rtrim(rtrim(cast(cast({{ expression }} as decimal(38, 9)) as varchar), '0'), '.')
{%- endmacro %}

{% macro to_hubspot_date(expression) -%}
    {{ format_timestamp('cast(' ~ expression ~ ' as date)', '%Y-%m-%d') }}
{%- endmacro %}

{# ISO 8601 in UTC with milliseconds and Z, e.g. 2024-01-05T10:00:00.123Z. #}
{% macro to_hubspot_datetime(expression) -%}
    {{ format_timestamp("timezone('UTC', cast(" ~ expression ~ " as timestamp with time zone))", '%Y-%m-%dT%H:%M:%S.%gZ') }}
{%- endmacro %}

{% macro parse_hubspot_value(expression, hubspot_type) -%}
    {%- set value = "nullif(trim(" ~ expression ~ "), '')" -%}
    {%- if hubspot_type == "number" -%}
        coalesce(
            {{ try_cast_as(value, 'decimal(38, 9)') }},
            {{ try_cast_as(try_cast_as(value, 'double'), 'decimal(38, 9)', from_text=false) }}
        )
    {%- elif hubspot_type == "date" -%}
        case
            when {{ regexp_full_match(value, '-?[0-9]+') }}
                then cast({{ epoch_ms_to_timestamp('cast(' ~ value ~ ' as bigint)') }} as date)
            else {{ try_cast_as('left(' ~ value ~ ', 10)', 'date') }}
        end
    {%- elif hubspot_type == "datetime" -%}
        date_trunc('millisecond', case
            when {{ regexp_full_match(value, '-?[0-9]+') }}
                then timezone('UTC', {{ epoch_ms_to_timestamp('cast(' ~ value ~ ' as bigint)') }})
            else {{ try_cast_as(value, 'timestamp with time zone') }}
        end)
    {%- else -%}
        nullif({{ expression }}, '')
    {%- endif -%}
{%- endmacro %}
