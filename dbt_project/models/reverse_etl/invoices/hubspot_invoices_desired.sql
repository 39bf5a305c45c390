{#
    What HubSpot should hold: one row per invoice to mirror, one varchar column per HubSpot
    property (reverse_etl.hubspot.properties.PROPERTY_NAMES), each in the format HubSpot accepts
    (macros/hubspot_formats.sql).

    Which invoices: those of the types in var('hubspot_invoice_types'), without drafts
    (DRAFT, SUBMITTED) unless var('hubspot_include_drafts'), and without VOIDED / DELETED
    unless var('hubspot_include_voided_and_deleted'). An invoice that already has a HubSpot
    record is always mirrored, so a voided or deleted invoice gets its new status in HubSpot
    rather than silently keeping its old one. Empty strings become null: HubSpot treats
    both as "no value".

    `contact_name` is the contact's current name from dim_customers (the invoice's own copy
    only when the contact is not loaded): Xero does not bump an invoice's `UpdatedDateUTC`
    when its contact is renamed, so the rename reaches HubSpot through the contact.
#}
{#- A table in the webhook fast path too (reverse_etl/fast_path.py): the two tables it feeds and
    the relationships test read it instead of each running its chain of CTEs again. Hourly,
    only the invoices int_hubspot_changed_invoices lists are selected again
    (macros/incremental_reverse_etl.sql), but for those listed only for the push's
    write-back: a record the push wrote was already in this table. -#}
{{ config(
    materialized=incremental_reverse_etl_materialization(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_hubspot_changed_invoice_rows('fct_invoices', 'invoice_id', inputs_only=true) }}",
) }}
{#- The vars arrive as JSON values from `invoice-sync` (settings.MirroringPolicy) or as the
    strings of the environment variables dbt_project.yml reads for a hand-run dbt. -#}
{%- set invoice_types = var('hubspot_invoice_types') -%}
{%- if invoice_types is string -%}
    {%- set invoice_types = invoice_types.split(',') | map('trim') | reject('equalto', '') | list -%}
{%- endif -%}
{%- set truthy = ['true', '1', 'yes', 'on'] -%}
{%- set include_drafts = (var('hubspot_include_drafts') | string | lower) in truthy -%}
{%- set include_voided = (var('hubspot_include_voided_and_deleted') | string | lower) in truthy -%}
{%- if invoice_types | length == 0 -%}
    {{ exceptions.raise_compiler_error(
        "var('hubspot_invoice_types') is empty: list at least one Xero invoice Type (ACCREC, ACCPAY)."
    ) }}
{%- endif -%}

{%- if not webhook_fast_path() %}
-- depends_on: {{ ref('int_hubspot_changed_invoices') }}
{%- endif %}

with

invoices as (

    select * from {{ ref('fct_invoices') }}
    {{ hubspot_changed_invoices_only('invoice_id', inputs_only=true) }}

),

customers as (

    select
        contact_id,
        contact_name
    from {{ ref('dim_customers') }}

),

hubspot_records as (

    select xero_invoice_id from {{ ref('stg_hubspot__invoice_records') }}
    {{ hubspot_changed_invoices_only('xero_invoice_id', inputs_only=true) }}

),

mirrored as (

    select
        {{ star_except(ref('fct_invoices'), 'invoices', ['contact_name']) }},
        coalesce(customers.contact_name, invoices.contact_name) as contact_name
    from invoices
    left join customers
        on invoices.contact_id = customers.contact_id
    left join hubspot_records
        on invoices.invoice_id = hubspot_records.xero_invoice_id
    where
        hubspot_records.xero_invoice_id is not null
        or (
            invoices.invoice_type in (
                {%- for invoice_type in invoice_types %}
                '{{ invoice_type }}'{{ "," if not loop.last }}
                {%- endfor %}
            )
            {%- if not include_drafts %}
            and invoices.status not in ('DRAFT', 'SUBMITTED')
            {%- endif %}
            {%- if not include_voided %}
            and invoices.status not in ('VOIDED', 'DELETED')
            {%- endif %}
        )

),

final as (

    select
        invoice_id as xero_invoice_id,
        nullif(invoice_number, '') as invoice_number,
        invoice_type,
        status,
        nullif(contact_name, '') as contact_name,
        nullif(contact_id, '') as xero_contact_id,
        nullif(reference, '') as reference,
        nullif(currency_code, '') as currency_code,
        {{ to_hubspot_number('currency_rate') }} as currency_rate,
        {{ to_hubspot_number('sub_total') }} as sub_total,
        {{ to_hubspot_number('total_tax') }} as total_tax,
        {{ to_hubspot_number('total') }} as total,
        {{ to_hubspot_number('amount_due') }} as amount_due,
        {{ to_hubspot_number('amount_paid') }} as amount_paid,
        {{ to_hubspot_number('amount_credited') }} as amount_credited,
        {{ to_hubspot_date('invoice_date') }} as invoice_date,
        {{ to_hubspot_date('due_date') }} as due_date,
        {{ to_hubspot_date('fully_paid_on_date') }} as fully_paid_on_date,
        {{ to_hubspot_datetime('updated_at') }} as xero_updated_at,
        tenant_id as xero_tenant_id,
        xero_url

    from mirrored

)

{{ select_contract_columns('final') }}
