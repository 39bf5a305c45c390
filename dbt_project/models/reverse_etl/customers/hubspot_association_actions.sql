{#
    The association writes that bring HubSpot in step: each mirrored invoice associated with
    its customer's company and contact (customer_matches), nothing else. CREATE what is
    desired and missing; REMOVE what HubSpot holds and is not desired — the old company or
    contact after a match changed, or after the invoice moved to another Xero contact. No row
    when nothing changed, so a quiet run makes no association call.

    `invoice_hs_object_id` is null for an invoice whose record the same push creates: the push
    reads the id it just wrote back (raw_hubspot.invoice_records) before sending.
    invoice-sync owns the invoice records' associations with companies and contacts: one made
    by hand in HubSpot is removed once a full refresh has read it.
#}
with

desired_invoices as (

    select xero_invoice_id, xero_contact_id from {{ ref('hubspot_invoices_desired') }}

),

matches as (

    select * from {{ ref('customer_matches') }}

),

records as (

    select hs_object_id, xero_invoice_id from {{ ref('stg_hubspot__invoice_records') }}

),

existing as (

    select
        records.xero_invoice_id,
        associations.invoice_hs_object_id,
        associations.to_object_type,
        associations.to_object_id
    from {{ ref('stg_hubspot__invoice_associations') }} as associations
    inner join records
        on associations.invoice_hs_object_id = records.hs_object_id

),

desired as (

    select
        desired_invoices.xero_invoice_id,
        desired_invoices.xero_contact_id,
        matches.match_rule,
        targets.to_object_type,
        targets.to_object_id
    from desired_invoices
    inner join matches
        on desired_invoices.xero_contact_id = matches.contact_id
    cross join lateral (
        select 'companies' as to_object_type, matches.hs_company_id as to_object_id
        union all
        select 'contacts', matches.hs_contact_id
    ) as targets
    where targets.to_object_id is not null

),

creates as (

    select
        'CREATE' as action,
        desired.xero_invoice_id,
        records.hs_object_id as invoice_hs_object_id,
        desired.to_object_type,
        desired.to_object_id,
        desired.xero_contact_id,
        desired.match_rule
    from desired
    left join records
        on desired.xero_invoice_id = records.xero_invoice_id
    left join existing
        on desired.xero_invoice_id = existing.xero_invoice_id
        and desired.to_object_type = existing.to_object_type
        and desired.to_object_id = existing.to_object_id
    where existing.xero_invoice_id is null

),

removes as (

    select
        'REMOVE' as action,
        existing.xero_invoice_id,
        existing.invoice_hs_object_id,
        existing.to_object_type,
        existing.to_object_id,
        cast(null as varchar) as xero_contact_id,
        cast(null as varchar) as match_rule
    from existing
    left join desired
        on existing.xero_invoice_id = desired.xero_invoice_id
        and existing.to_object_type = desired.to_object_type
        and existing.to_object_id = desired.to_object_id
    where desired.xero_invoice_id is null

),

final as (

    select * from removes
    union all
    select * from creates

)

select * from final
