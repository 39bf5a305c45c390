{#
    What an hourly build must rebuild in the incremental marts (macros/incremental_marts.sql):
    the invoices (and payments) whose marts rows may differ from those of the last build
    recorded in sync_log.builds (reverse_etl/core/build_plan.py). The build records the newest dlt
    load of raw_xero it saw; every record a later load wrote (`dlt_load_id` greater: dlt's
    load ids are the load's start as a Unix timestamp; staging keeps each record's newest row,
    with its load id) names what changed:

    - an invoice or its versions loaded since (dlt replaces an invoice's lines, which carry no
      load id, whenever it merges the invoice: they come with it);
    - a payment loaded since (paid, part-paid, deleted: Xero keeps a deleted payment, with
      Status DELETED), and its invoice;
    - an allocation loaded since, and every allocation, old or new, of a credit note,
      overpayment or prepayment loaded since: a source re-read without an allocation, or
      voided, takes that allocation out of its invoice's balance (int_credit_allocations).
      The source's versions (raw_xero.credit_versions) are written by the same read as the
      source itself, so the source's row names them.

    Everything is listed (the incremental marts then rebuild every row) when there is no
    recorded build, when an organisation was loaded since (its base currency or time zone
    feeds every row of its invoices), or when "today" is not the day the last build recorded
    for an organisation (ageing; `invoice-sync` builds such a day in full anyway, this keeps a
    hand-run `dbt build` right). A contact's rename changes no row here: the marts carry the
    invoice's own copy of the name; dim_customers and the reverse_etl models, which carry
    the current one, are rebuilt whole on every build.
#}
{{ config(materialized='ephemeral' if webhook_fast_path() else 'table') }}
{%- set builds = none -%}
{%- if execute and not webhook_fast_path() -%}
    {%- set builds = adapter.get_relation(
        database=target.database, schema='sync_log', identifier='builds'
    ) -%}
{%- endif %}

with

last_build as (

    {%- if builds is not none %}
    select
        {{ try_cast_as(json_key_text('load_marks', "'raw_xero'"), 'double') }} as load_mark,
        local_dates
    from {{ builds }}
    order by finished_at desc
    limit 1
    {%- else %}
    select cast(null as double precision) as load_mark, cast(null as varchar) as local_dates
    {%- endif %}

),

mark as (

    {# one row, null mark when no build is recorded #}
    select
        (select load_mark from last_build) as load_mark,
        (select local_dates from last_build) as local_dates

),

organisations as (

    select * from {{ ref('stg_xero__organisations') }}

),

rebuild_all as (

    {%- if builds is none %}
    {# no build recorded (or the webhook fast path, which filters by the invoices named) #}
    select true as everything
    {%- else %}
    select
        mark.load_mark is null
        or exists (
            select 1 from organisations
            where {{ try_cast_as('organisations.dlt_load_id', 'double precision') }}
                > mark.load_mark
        )
        or exists (
            select 1 from organisations
            where {{ json_key_text('mark.local_dates', 'organisations.tenant_id') }}
                is distinct from {{ format_timestamp(
                    organisation_today('organisations.timezone'), '%Y-%m-%d'
                ) }}
        ) as everything
    from mark
    {%- endif %}

),

{% set tables = ['invoices', 'invoice_versions', 'payments',
                 'allocations', 'credit_notes', 'overpayments', 'prepayments'] -%}
{%- for table in tables %}
new_{{ table }} as (

    select *
    from {{ ref('stg_xero__' ~ table) }}
    where {{ try_cast_as('dlt_load_id', 'double precision') }} > (select load_mark from mark)

),
{% endfor %}

changed_sources as (

    select cast(credit_note_id as varchar) as source_id from new_credit_notes
    union
    select cast(overpayment_id as varchar) from new_overpayments
    union
    select cast(prepayment_id as varchar) from new_prepayments

),

changed as (

    select cast(invoice_id as varchar) as invoice_id, cast(null as varchar) as payment_id
    from new_invoices
    union
    select cast(invoice_id as varchar), null from new_invoice_versions
    union
    select cast(invoice_id as varchar), cast(payment_id as varchar) from new_payments
    union
    select cast(invoice_id as varchar), null from new_allocations
    union
    select cast(allocations.invoice_id as varchar), null
    from {{ ref('stg_xero__allocations') }} as allocations
    where cast(allocations.source_id as varchar) in (select source_id from changed_sources)

),

everything as (

    select invoice_id, cast(null as varchar) as payment_id
    from {{ ref('stg_xero__invoices') }}
    union
    select invoice_id, payment_id
    from {{ ref('stg_xero__payments') }}

),

final as (

    select distinct invoice_id, payment_id
    from changed
    where not (select everything from rebuild_all)
        and (invoice_id is not null or payment_id is not null)
    union
    select distinct invoice_id, payment_id
    from everything
    where (select everything from rebuild_all)

)

select * from final
{#- a --full-refresh build rebuilds every mart whole: it needs no list #}
{%- if flags.FULL_REFRESH %}
where false
{%- endif %}
