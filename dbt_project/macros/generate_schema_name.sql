{#
    Schemas are exactly the names set in dbt_project.yml (staging, marts, reverse_etl), without
    dbt's default "<target schema>_" prefix: the push command and analysts read
    reverse_etl.hubspot_invoice_actions and marts.* by those names (docs/contracts.md).
    https://docs.getdbt.com/docs/build/custom-schemas
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
