{#
    Every allocation of a credit note, overpayment or prepayment to an invoice ever read, with
    its source and whether it still counts. A re-read source is the truth about its
    allocations (DESIGN.md): Xero answers the removal of an allocation with `IsDeleted`, but
    whether later reads still list it is not documented (API_FACTS.md), so an allocation
    counts only while the source's current version lists it. It stops counting (`is_removed`)
    when:
    - Xero flags it `IsDeleted`;
    - the source was read again without it: raw_xero.allocations keeps, per allocation, the
      `UpdatedDateUTC` of the last source version that listed it (`source_updated_at`), older
      than the source's current version once that no longer lists it;
    - its source is VOIDED: Xero voids a credit only once no allocation of it is left.
    A removed allocation is kept, with `removed_seen_at`: the `UpdatedDateUTC` of the first
    version of the source read that no longer listed it (or was VOIDED), from
    raw_xero.credit_versions; the source's current version when that history is missing
    (versions read before it was kept); for an `IsDeleted` allocation, the version that showed
    it so. Balances treat a removed allocation as never made, on every date: Xero takes it out
    of the invoice's AmountCredited and its reports (int_invoice_balance_events). An
    allocation whose source was never loaded (rejected, or not in a webhook build's contacts)
    counts as read.
#}
with

allocations as (

    select * from {{ ref('stg_xero__allocations') }}

),

credit_notes as (

    select
        credit_note_id as source_id,
        'CREDITNOTE' as source_type,
        credit_note_number as source_number,
        credit_note_type as source_subtype,
        contact_id,
        credit_note_date as source_date,
        status,
        currency_code,
        currency_rate,
        updated_at
    from {{ ref('stg_xero__credit_notes') }}

),

overpayments as (

    select
        overpayment_id as source_id,
        'OVERPAYMENT' as source_type,
        cast(null as varchar) as source_number,
        overpayment_type as source_subtype,
        contact_id,
        overpayment_date as source_date,
        status,
        currency_code,
        currency_rate,
        updated_at
    from {{ ref('stg_xero__overpayments') }}

),

prepayments as (

    select
        prepayment_id as source_id,
        'PREPAYMENT' as source_type,
        cast(null as varchar) as source_number,
        prepayment_type as source_subtype,
        contact_id,
        prepayment_date as source_date,
        status,
        currency_code,
        currency_rate,
        updated_at
    from {{ ref('stg_xero__prepayments') }}

),

sources as (

    select * from credit_notes
    union all
    select * from overpayments
    union all
    select * from prepayments

),

versions as (

    select * from {{ ref('stg_xero__credit_versions') }}

),

{# The first source version read after the last one that listed the allocation, and the
   first VOIDED version. #}
later_versions as (

    select
        allocations.allocation_key,
        min(versions.source_updated_at) filter (
            where versions.source_updated_at > allocations.source_updated_at
        ) as first_unlisted_at,
        min(versions.source_updated_at) filter (where versions.status = 'VOIDED')
            as first_voided_at
    from allocations
    inner join versions
        on allocations.source_type = versions.source_type
        and allocations.source_id = versions.source_id
        and versions.source_updated_at >= allocations.source_updated_at
    group by allocations.allocation_key

),

classified as (

    select
        allocations.*,
        sources.source_number,
        sources.source_subtype,
        sources.contact_id as source_contact_id,
        sources.source_date,
        sources.status as source_status,
        sources.currency_code as source_currency_code,
        sources.currency_rate as source_currency_rate,
        coalesce(allocations.source_updated_at >= sources.updated_at, true) as is_listed,
        coalesce(sources.status = 'VOIDED', false) as is_source_voided,
        sources.updated_at as source_current_updated_at,
        later_versions.first_unlisted_at,
        later_versions.first_voided_at
    from allocations
    left join sources
        on allocations.source_type = sources.source_type
        and allocations.source_id = sources.source_id
    left join later_versions
        on allocations.allocation_key = later_versions.allocation_key

),

final as (

    select
        allocation_key,
        tenant_id,
        source_type,
        source_id,
        source_number,
        source_subtype,
        source_contact_id,
        source_date,
        source_status,
        source_currency_code,
        source_currency_rate,
        invoice_id,
        allocation_date,
        amount,
        is_deleted,
        is_listed,
        is_deleted or not is_listed or is_source_voided as is_removed,
        case
            when is_deleted then source_updated_at
            when not is_listed then coalesce(first_unlisted_at, source_current_updated_at)
            when is_source_voided then coalesce(first_voided_at, source_current_updated_at)
        end as removed_seen_at,
        source_updated_at as last_listed_at
    from classified

)

select * from final
