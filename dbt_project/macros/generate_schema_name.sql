{#
    Schemas are exactly the names set in dbt_project.yml (staging, marts, reverse_etl), without
    dbt's default "<target schema>_" prefix: the push command and analysts read
    reverse_etl.hubspot_invoice_actions and marts.* by those names (docs/contracts.md).
    https://docs.getdbt.com/docs/build/custom-schemas
    The webhook fast path (macros/webhook_fast_path.sql) prefixes them with `webhook_`, so its
    partial build lands beside the whole one, never on it.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set prefix = 'webhook_' if webhook_fast_path() else '' -%}
    {%- if custom_schema_name is none -%}
        {{ prefix }}{{ target.schema }}
    {%- else -%}
        {{ prefix }}{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
