{#
    Incremental marts (issue 19): the fact tables with a row per invoice (or per payment, or
    per stretch or status of an invoice) rebuild, on an hourly build, only the rows of the
    invoices int_changed_invoices lists: those whose raw rows, or rows they depend on, a dlt
    load added since the last recorded build. Each such model:

    - is `materialized: incremental` with the `append` strategy (dbt-duckdb) and, as its
      pre-hook, `delete_changed_invoice_rows`: the old rows of the changed invoices go first,
      whatever their key (a voided invoice loses every stretch of fct_invoice_balances, a
      deleted payment its stretch), then the model's rows for those invoices are appended.
      https://docs.getdbt.com/docs/build/incremental-models
    - filters its input with `changed_invoices_only(column)`, which renders nothing outside an
      incremental run (the first build, `--full-refresh`, the webhook fast path), so those
      builds run exactly the SQL they always ran;
    - names int_changed_invoices in a `depends_on` comment, as dbt asks for a ref used only in
      a branch (https://docs.getdbt.com/reference/dbt-jinja-functions/ref#forcing-dependencies).

    `invoice-sync` builds daily, first and `--full-refresh` builds with `--full-refresh`
    (reverse_etl/transform.py): ageing and days overdue depend on "today", and a changed model
    may have new columns. Only the hourly build is incremental.
#}

{#- The materialization of an incremental mart: ephemeral in the webhook fast path, like every
    model before reverse_etl there (dbt_project.yml). -#}
{% macro incremental_mart_materialization() -%}
    {{ return('ephemeral' if webhook_fast_path() else 'incremental') }}
{%- endmacro %}

{#- dbt's is_incremental(), false where there is no `this` (a dbt unit test, which checks the
    SQL of a whole build). -#}
{% macro building_incrementally() -%}
    {{ return(this is not none and is_incremental()) }}
{%- endmacro %}

{#- `where <column> in (the changed invoices)`, or nothing when the model is not built
    incrementally. `kind` 'payment': the column holds a payment id (int_changed_invoices lists
    the payments loaded since as well as their invoices). -#}
{% macro changed_invoices_only(column, kind='invoice', keyword='where') -%}
    {%- if building_incrementally() -%}
        {{ keyword }} {{ changed_invoices_condition(column, kind) }}
    {%- endif -%}
{%- endmacro %}

{% macro changed_invoices_condition(column, kind='invoice') -%}
    {%- set changed = ref('int_changed_invoices') -%}
    {%- if kind == 'payment' -%}
        {{ column }} in (select payment_id from {{ changed }} where payment_id is not null)
    {%- else -%}
        {{ column }} in (select invoice_id from {{ changed }} where invoice_id is not null)
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook: delete the rows the incremental run is about to rebuild, and the rows whose record
    (`key_column` of stg_xero__`key_table`) is no longer in the raw table at all (a reload
    that replaced it), so nothing stale is left. `payment_column` also deletes
    the payments loaded since (fct_payments); `with_null_invoice`, the rows of no invoice,
    which the model then rebuilds every time (fct_credit_note_allocations). -#}
{% macro delete_changed_invoice_rows(
    key_column='invoice_id', key_table='invoices', payment_column=none, with_null_invoice=false
) -%}
    {%- if building_incrementally() -%}
        delete from {{ this }}
        where {{ changed_invoices_condition('invoice_id') }}
        {%- if payment_column %}
            or {{ changed_invoices_condition(payment_column, 'payment') }}
        {%- endif %}
        {%- if with_null_invoice %}
            or invoice_id is null
        {%- endif %}
            or {{ key_column }} not in (
                select {{ key_column }}
                from {{ ref('stg_xero__' ~ key_table) }}
                where {{ key_column }} is not null
            )
    {%- endif -%}
{%- endmacro %}
