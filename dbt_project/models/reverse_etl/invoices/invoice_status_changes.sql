{#
    Invoices whose status changed in Xero since the version their HubSpot record was written
    from: the alerts of the push ("INV-0042 is now PAID"). Alerts describe Xero's changes
    only: the previous status is the Xero status of the version named by the record's
    xero_updated_at, not HubSpot's value, so a hand edit in HubSpot (put back by the push as an
    UPDATE) raises no alert. Only when that version is unknown (the property was cleared by
    hand) is HubSpot's status the fallback. New invoices are not status changes: they are
    INSERTs in hubspot_invoice_actions.

    Hourly, only the invoices int_hubspot_changed_invoices lists are compared again
    (macros/incremental_reverse_etl.sql): a row depends on the invoice's desired row, its
    HubSpot record, its marts row and its Xero versions, each of which lists the invoice when
    it changes.
#}
{{ config(
    materialized=incremental_reverse_etl_materialization(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_hubspot_changed_invoice_rows('hubspot_invoices_desired') }}",
) }}
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

invoices as (

    select * from {{ ref('fct_invoices') }}
    {{ hubspot_changed_invoices_only('invoice_id') }}

),

versions as (

    select * from {{ ref('stg_xero__invoice_versions') }}
    {{ hubspot_changed_invoices_only('invoice_id') }}

),

versions_when_written as (

    select
        hubspot_records.xero_invoice_id,
        versions.status,
        versions.updated_at
    from hubspot_records
    inner join versions
        on versions.invoice_id = hubspot_records.xero_invoice_id
        and versions.updated_at <= hubspot_records.xero_updated_at

),

status_when_written as (

    select xero_invoice_id, status from (
        {{ first_row_per('versions_when_written', ['xero_invoice_id'], ['updated_at desc']) }}
    ) as latest

),

compared as (

    select
        desired.xero_invoice_id,
        desired.status,
        hubspot_records.hs_object_id,
        coalesce(status_when_written.status, hubspot_records.status) as previous_status
    from desired
    inner join hubspot_records
        on desired.xero_invoice_id = hubspot_records.xero_invoice_id
    left join status_when_written
        on desired.xero_invoice_id = status_when_written.xero_invoice_id

),

final as (

    select
        compared.xero_invoice_id,
        compared.hs_object_id,
        invoices.invoice_number,
        invoices.contact_name,
        invoices.currency_code,
        {# Money in the invoice currency, to the cent, as the alert prints it. #}
        cast(invoices.total as decimal(18, 2)) as total,
        cast(invoices.amount_due as decimal(18, 2)) as amount_due,
        compared.previous_status,
        compared.status as new_status,
        invoices.updated_at as xero_updated_at
    from compared
    inner join invoices
        on compared.xero_invoice_id = invoices.invoice_id
    where {{ parse_hubspot_value('compared.status', 'enumeration') }}
        is distinct from compared.previous_status

)

{{ select_contract_columns('final') }}
