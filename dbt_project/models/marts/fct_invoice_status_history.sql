{#
    One row per status an invoice entered, in order: the first known status (is_first_status,
    from_status null: not a transition), then each real change. Versions that changed
    something other than the status add nothing.

    Where an event caused the change, `changed_at` is that event's date (midnight in the
    organisation's time zone; `changed_on` is the date itself): for → PAID the invoice's
    `FullyPaidOnDate` = the date of the payment or credit that cleared it, and `change_source`
    names the events of that day (PAYMENT, CREDITNOTE, OVERPAYMENT, PREPAYMENT). Otherwise it
    is the `UpdatedDateUTC` of the first version seen with the new status (change_source
    OBSERVED).

    Transitions the sync never saw but events reveal are added (is_inferred): Xero takes
    payments only on AUTHORISED invoices, so an invoice seen PAID (with a non-zero total) whose
    previous observation was none, DRAFT or SUBMITTED passed through AUTHORISED first —
    dated its invoice date when it is the first known status, else between the last earlier
    observation and the payment. Not recoverable: a payment made and deleted between two
    syncs (deleted payments carry no balance).
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

versions as (

    select
        *,
        lag(status) over (partition by invoice_id order by updated_at) as previous_observed_status,
        lag(updated_at) over (partition by invoice_id order by updated_at) as previous_observed_at
    from {{ ref('stg_xero__invoice_versions') }}
    {{ changed_invoices_only('invoice_id') }}

),

invoices as (

    select * from {{ ref('stg_xero__invoices') }}
    {{ changed_invoices_only('invoice_id') }}

),

organisations as (

    select * from {{ ref('stg_xero__organisations') }}

),

events as (

    select * from {{ ref('int_invoice_balance_events') }}
    {{ changed_invoices_only('invoice_id') }}

),

causes_by_day as (

    select
        invoice_id,
        event_date,
        string_agg(distinct event_type, '+' order by event_type) as event_types
    from events
    where event_type <> 'INVOICE'
    group by invoice_id, event_date

),

{# The first version of each run of the same status. #}
status_runs as (

    select
        versions.*,
        coalesce(organisations.timezone, 'UTC') as timezone,
        case
            when versions.status = 'PAID' then versions.fully_paid_on_date
        end as cause_date
    from versions
    left join organisations
        on versions.tenant_id = organisations.tenant_id
    where versions.status is distinct from versions.previous_observed_status

),

observed as (

    select
        status_runs.invoice_id,
        status_runs.status as to_status,
        status_runs.updated_at as observed_at,
        status_runs.updated_at as sort_at,
        1 as sort_rank,
        false as is_inferred,
        case
            when status_runs.cause_date is not null
                then {{ local_midnight('status_runs.cause_date', 'status_runs.timezone') }}
            else status_runs.updated_at
        end as changed_at,
        coalesce(
            status_runs.cause_date,
            cast(timezone(status_runs.timezone, status_runs.updated_at) as date)
        ) as changed_on,
        case
            when status_runs.cause_date is not null
                then coalesce(causes_by_day.event_types, 'FULLY_PAID_ON_DATE')
            else 'OBSERVED'
        end as change_source,
        status_runs.previous_observed_status,
        status_runs.previous_observed_at,
        status_runs.timezone,
        status_runs.invoice_number,
        status_runs.invoice_type,
        status_runs.tenant_id,
        status_runs.contact_id,
        status_runs.contact_name,
        status_runs.currency_code,
        status_runs.invoice_date,
        status_runs.total,
        status_runs.amount_due
    from status_runs
    left join causes_by_day
        on status_runs.invoice_id = causes_by_day.invoice_id
        and status_runs.cause_date = causes_by_day.event_date

),

inferred_authorised as (

    select
        invoice_id,
        'AUTHORISED' as to_status,
        cast(null as timestamp with time zone) as observed_at,
        sort_at,
        0 as sort_rank,
        true as is_inferred,
        case
            when previous_observed_status is null
                then {{ local_midnight('invoice_date', 'timezone') }}
            else least(
                greatest(previous_observed_at, {{ local_midnight('invoice_date', 'timezone') }}),
                changed_at
            )
        end as inferred_changed_at,
        timezone,
        invoice_number,
        invoice_type,
        tenant_id,
        contact_id,
        contact_name,
        currency_code,
        total
    from observed
    where to_status = 'PAID'
        and total <> 0
        and (previous_observed_status is null or previous_observed_status in ('DRAFT', 'SUBMITTED'))

),

all_statuses as (

    select
        invoice_id,
        to_status,
        observed_at,
        sort_at,
        sort_rank,
        is_inferred,
        changed_at,
        changed_on,
        change_source,
        invoice_number,
        invoice_type,
        tenant_id,
        contact_id,
        contact_name,
        currency_code,
        total,
        amount_due
    from observed

    union all

    select
        invoice_id,
        to_status,
        observed_at,
        sort_at,
        sort_rank,
        is_inferred,
        inferred_changed_at as changed_at,
        cast(timezone(timezone, inferred_changed_at) as date) as changed_on,
        'INFERRED' as change_source,
        invoice_number,
        invoice_type,
        tenant_id,
        contact_id,
        contact_name,
        currency_code,
        total,
        total as amount_due
    from inferred_authorised

),

numbered as (

    select
        *,
        lag(to_status) over (partition by invoice_id order by sort_at, sort_rank) as from_status,
        row_number() over (partition by invoice_id order by sort_at, sort_rank)
            as transition_number
    from all_statuses

),

final as (

    select
        invoice_id || '#' || cast(transition_number as varchar) as status_change_id,
        invoice_id,
        cast(transition_number as integer) as transition_number,
        from_status,
        to_status,
        transition_number = 1 as is_first_status,
        is_inferred,
        change_source,
        changed_at,
        changed_on,
        observed_at,
        invoice_number,
        invoice_type,
        tenant_id,
        contact_id,
        contact_name,
        currency_code,
        total,
        amount_due
    from numbered

)

{{ select_contract_columns('final') }}
