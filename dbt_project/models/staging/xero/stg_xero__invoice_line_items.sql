with

line_items as (

    select * from {{ source('raw_xero', 'invoices__line_items') }}

),

{# The child table carries no invoice_id: dlt links it to its parent row by _dlt_root_id. #}
invoices as (

    select
        _dlt_id,
        invoice_id
    from {{ source('raw_xero', 'invoices') }}

),

renamed as (

    select
        cast(line_items.line_item_id as varchar) as line_item_id,
        cast(invoices.invoice_id as varchar) as invoice_id,
        line_items._dlt_list_idx as line_number,
        cast(line_items.description as varchar) as description,
        cast(line_items.quantity as decimal(38, 9)) as quantity,
        cast(line_items.unit_amount as decimal(38, 9)) as unit_amount,
        cast(line_items.item_code as varchar) as item_code,
        cast(line_items.account_code as varchar) as account_code,
        cast(line_items.tax_type as varchar) as tax_type,
        cast(line_items.tax_amount as decimal(38, 9)) as tax_amount,
        cast(line_items.line_amount as decimal(38, 9)) as line_amount,
        cast(line_items.discount_rate as decimal(38, 9)) as discount_rate,
        line_items._dlt_id as dlt_row_id

    from line_items
    inner join invoices
        on line_items._dlt_root_id = invoices._dlt_id

),

deduplicated as (

    select * from renamed
    qualify row_number() over (
        partition by coalesce(line_item_id, dlt_row_id)
        order by dlt_row_id
    ) = 1

),

final as (

    select * from deduplicated

)

select * from final
