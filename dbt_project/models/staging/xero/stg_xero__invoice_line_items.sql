with

source as (

    select * from {{ source('raw_xero', 'invoices__line_items') }}
    {{ webhook_invoices_only('_dlt_root_id', grain='invoice_row') }}

),

{# The child table carries no invoice_id: dlt links each line to its parent row through
   _dlt_root_id; intermediate.int_invoice_line_items resolves it to the invoice. A line is
   keyed by its invoice and its LineItemID: Xero has been seen to repeat a LineItemID on two
   invoices, and each invoice keeps its line (issue 20). dlt's merge (delete-insert) deletes
   and re-inserts a merged invoice's nested rows with it, in one transaction for the root and
   nested tables (dlt docs, "Merge loading"), so only the lines Xero lists now remain. #}
renamed as (

    select
        cast(line_item_id as varchar) as line_item_id,
        cast(_dlt_root_id as varchar) as invoice_dlt_row_id,
        _dlt_list_idx as line_number,
        cast(description as varchar) as description,
        cast(quantity as decimal(38, 9)) as quantity,
        cast(unit_amount as decimal(38, 9)) as unit_amount,
        cast(item_code as varchar) as item_code,
        cast(account_code as varchar) as account_code,
        cast(tax_type as varchar) as tax_type,
        cast(tax_amount as decimal(38, 9)) as tax_amount,
        cast(line_amount as decimal(38, 9)) as line_amount,
        cast(discount_rate as decimal(38, 9)) as discount_rate,
        _dlt_id as dlt_row_id

    from source

),

deduplicated as (

    {{ first_row_per('renamed', ['invoice_dlt_row_id', 'coalesce(line_item_id, dlt_row_id)'], ['dlt_row_id']) }}

),

final as (

    select * from deduplicated

)

select * from final
