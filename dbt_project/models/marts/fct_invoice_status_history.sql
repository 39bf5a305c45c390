with

versions as (

    select * from {{ ref('stg_xero__invoice_versions') }}

),

with_previous_status as (

    select
        invoice_id,
        invoice_number,
        invoice_type,
        tenant_id,
        contact_id,
        contact_name,
        currency_code,
        total,
        amount_due,
        status,
        updated_at,
        lag(status) over (partition by invoice_id order by updated_at) as previous_status,
        row_number() over (partition by invoice_id order by updated_at) as version_number
    from versions

),

transitions as (

    select
        *,
        row_number() over (partition by invoice_id order by updated_at) as transition_number
    from with_previous_status
    where version_number = 1
        or status is distinct from previous_status

),

final as (

    select
        invoice_id || '#' || cast(transition_number as varchar) as status_change_id,
        invoice_id,
        cast(transition_number as integer) as transition_number,
        previous_status as from_status,
        status as to_status,
        updated_at as changed_at,
        invoice_number,
        invoice_type,
        tenant_id,
        contact_id,
        contact_name,
        currency_code,
        total,
        amount_due
    from transitions

)

select * from final
