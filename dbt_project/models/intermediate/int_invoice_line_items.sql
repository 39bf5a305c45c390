{#
    Invoice lines with their invoice_id: staging's lines joined to their parent invoice row
    (dlt's _dlt_root_id = the invoice's _dlt_id). dlt replaces an invoice's lines on every
    merge, so only current lines remain; orphaned lines, if any, are dropped by the join.
    Joining two sources is this layer's job, not staging's (one staging model per source table).

    A table, built like the incremental marts (macros/incremental_marts.sql): an invoice's
    lines come with the invoice (dlt merges them together), so an hourly build rebuilds the
    lines of the changed invoices only. As a view it was computed again by each of its readers:
    fct_invoices, assert_line_items_sum_to_invoice_subtotal and its data tests (issue 19).
#}
{{ config(
    materialized=incremental_mart_materialization(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_invoice_rows() }}",
) }}
{%- if not webhook_fast_path() %}
-- depends_on: {{ ref('int_changed_invoices') }}
{%- endif %}
with

line_items as (

    select * from {{ ref('stg_xero__invoice_line_items') }}

),

invoices as (

    select
        dlt_row_id,
        invoice_id
    from {{ ref('stg_xero__invoices') }}
    {{ changed_invoices_only('invoice_id') }}

),

joined as (

    select
        line_items.line_item_id,
        invoices.invoice_id,
        line_items.line_number,
        line_items.description,
        line_items.quantity,
        line_items.unit_amount,
        line_items.item_code,
        line_items.account_code,
        line_items.tax_type,
        line_items.tax_amount,
        line_items.line_amount,
        line_items.discount_rate,
        line_items.dlt_row_id
    from line_items
    inner join invoices
        on line_items.invoice_dlt_row_id = invoices.dlt_row_id

),

final as (

    select * from joined

)

select * from final
