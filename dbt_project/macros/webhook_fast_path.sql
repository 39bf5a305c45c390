{#
    The webhook fast path (reverse_etl/fast_path.py): a build of only the models on the path to
    hubspot_invoice_actions and invoice_status_changes (selectors.yml, `webhook`), for only the
    invoices a webhook batch named. The models are the same; these macros narrow their input.

    - var('webhook_fast_path') is true only in the manifest the webhook server parses once and
      keeps in memory. It is read when the project is parsed (schema names) and when each model
      is compiled (the filters), and both see the same value: the server passes it on every
      invocation. Every other build (sync, transform, CI) leaves it false: the filters render
      nothing and the SQL is the one it always was.
    - The invoices named are rows of sync_log.webhook_invoice_ids, written by the server just
      before each build (a table, not a var: the ids change every batch, the parsed manifest
      does not, and ids from outside never become SQL text).
    - generate_schema_name puts the fast path's relations in webhook_staging, webhook_marts,
      webhook_reverse_etl (…), so a partial build never replaces the analysts' marts or the
      hourly build's action tables.
#}
{% macro webhook_fast_path() -%}
    {{ return((var('webhook_fast_path', false) | string | lower) in ['true', '1', 'yes']) }}
{%- endmacro %}

{% macro webhook_invoice_ids() -%}
    sync_log.webhook_invoice_ids
{%- endmacro %}

{#
    A `where` clause keeping the rows of the named invoices, or nothing outside the fast path.
    grain: 'invoice' — `column` holds an invoice id; 'invoice_row' — `column` holds dlt's row id
    of the parent invoice (line items); 'contact' — `column` holds a contact id: the contacts
    of the named invoices (their current version in raw_xero.invoices), so a customer's rows
    (name, persons, credit) come whole.
#}
{% macro webhook_invoices_only(column, grain='invoice') -%}
    {%- if webhook_fast_path() -%}
        {%- set named = 'select invoice_id from ' ~ webhook_invoice_ids() -%}
        where {{ column }} in (
        {%- if grain == 'invoice' %}
            {{ named }}
        {%- elif grain == 'invoice_row' %}
            select _dlt_id from {{ source('raw_xero', 'invoices') }} where invoice_id in ({{ named }})
        {%- elif grain == 'contact' %}
            select contact_id from {{ source('raw_xero', 'invoices') }} where invoice_id in ({{ named }})
        {%- else %}
            {{ exceptions.raise_compiler_error("webhook_invoices_only: unknown grain " ~ grain) }}
        {%- endif %}
        )
    {%- endif -%}
{%- endmacro %}
