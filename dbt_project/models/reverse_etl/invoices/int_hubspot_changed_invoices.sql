{#
    What an hourly build must compare again in the incremental invoice models
    (hubspot_invoices_desired, hubspot_invoice_actions; macros/incremental_reverse_etl.sql):
    the invoices whose desired row or whose action may differ from the last build's. The
    other invoices' rows are kept as they are, which is right only if this list misses
    nothing that changed either side of the diff:

    - Xero: the invoices int_changed_invoices lists (everything when no build is recorded, an
      organisation was loaded since or "today" moved on), and the invoices of each contact
      loaded since the last recorded build (desired carries the contact's current name);
    - HubSpot's snapshot: each record a dlt load wrote into raw_hubspot since that build
      (edited, archived or created in HubSpot), by the xero_invoice_id it holds now;
    - the push's write-back (reverse_etl/push/records.py upserts what HubSpot confirmed into
      raw_hubspot.invoice_records without a dlt load, keeping an updated row's load id, and
      logs each record's outcome in sync_log.record_results in the same transaction): the
      invoices with an outcome recorded since the last build started (the hourly push, a
      webhook batch's push). An action the push did not send, or HubSpot rejected, keeps its
      row: neither side changed, so the next push sends it again. (Listing the whole previous
      action table instead made the first build after an initial sync compare every invoice
      even when the push wrote nothing; the one after a push of everything still does.)
      Without a record_results table (a warehouse no push has set up) the previous action
      table is listed, as before;
    - a record that no longer names an invoice (its xero_invoice_id edited by hand in HubSpot:
      the merge on hs_object_id forgets the old value): the previous desired rows that no
      live record and no previous action explain.

    The previous tables are read as relations, not refs: this model runs before the two it
    feeds rebuild them. In the webhook fast path the two are plain tables and this is unused.
#}
{{ config(materialized='ephemeral' if webhook_fast_path() else 'table') }}
{%- set builds, desired, actions, results = none, none, none, none -%}
{%- if execute and not webhook_fast_path() -%}
    {%- set builds = adapter.get_relation(
        database=target.database, schema='sync_log', identifier='builds'
    ) -%}
    {%- set results = adapter.get_relation(
        database=target.database, schema='sync_log', identifier='record_results'
    ) -%}
    {%- set desired = adapter.get_relation(
        database=this.database, schema=this.schema, identifier='hubspot_invoices_desired'
    ) -%}
    {%- set actions = adapter.get_relation(
        database=this.database, schema=this.schema, identifier='hubspot_invoice_actions'
    ) -%}
{%- endif %}

with

marks as (

    {%- if builds is not none %}
    select
        {{ try_cast_as(json_key_text('load_marks', "'raw_xero'"), 'double') }} as xero_mark,
        {{ try_cast_as(json_key_text('load_marks', "'raw_hubspot'"), 'double') }} as hubspot_mark,
        started_at
    from {{ builds }}
    order by finished_at desc
    limit 1
    {%- else %}
    select
        cast(null as double precision) as xero_mark,
        cast(null as double precision) as hubspot_mark,
        cast(null as timestamp with time zone) as started_at
    {%- endif %}

),

mark as (

    {# one row; a null mark lists everything loaded #}
    select
        (select xero_mark from marks) as xero_mark,
        (select hubspot_mark from marks) as hubspot_mark,
        (select started_at from marks) as built_from

),

changed_in_xero as (

    select invoice_id as xero_invoice_id
    from {{ ref('int_changed_invoices') }}
    where invoice_id is not null

),

contacts_loaded as (

    select contact_id
    from {{ ref('stg_xero__contacts') }}
    where (select xero_mark from mark) is null
        or {{ try_cast_as('dlt_load_id', 'double precision') }} > (select xero_mark from mark)

),

renamed_contacts_invoices as (

    select invoices.invoice_id as xero_invoice_id
    from {{ ref('fct_invoices') }} as invoices
    inner join contacts_loaded
        on invoices.contact_id = contacts_loaded.contact_id

),

records_loaded as (

    select {{ parse_hubspot_value('xero_invoice_id', 'string') }} as xero_invoice_id
    from {{ source('raw_hubspot', 'invoice_records') }}
    where (select hubspot_mark from mark) is null
        or {{ try_cast_as('_dlt_load_id', 'double precision') }} > (select hubspot_mark from mark)

),

{%- if actions is not none %}

previous_actions as (

    select xero_invoice_id from {{ actions }}

),
{%- endif %}
{%- if results is not none %}

written_back as (

    {# a null start (no build recorded) lists everything: every row is rebuilt then anyway #}
    select xero_invoice_id
    from {{ results }}
    where (select built_from from mark) is null
        or recorded_at >= (select built_from from mark)

),
{%- endif %}
{%- if desired is not none %}

live_record_ids as (

    select {{ parse_hubspot_value('xero_invoice_id', 'string') }} as xero_invoice_id
    from {{ source('raw_hubspot', 'invoice_records') }}
    where coalesce(archived, false) = false

),

unexplained_desired as (

    select desired.xero_invoice_id
    from {{ desired }} as desired
    where desired.xero_invoice_id not in (
            select xero_invoice_id from live_record_ids where xero_invoice_id is not null
        )
        {%- if actions is not none %}
        and desired.xero_invoice_id not in (select xero_invoice_id from previous_actions)
        {%- endif %}

),
{%- endif %}

final as (

    select xero_invoice_id, false as written_back_only from changed_in_xero
    union all
    select xero_invoice_id, false from renamed_contacts_invoices
    union all
    select xero_invoice_id, false from records_loaded
    {%- if results is not none %}
    union all
    select xero_invoice_id, true from written_back
    {%- elif actions is not none %}
    union all
    select xero_invoice_id, true from previous_actions
    {%- endif %}
    {%- if desired is not none %}
    union all
    select xero_invoice_id, false from unexplained_desired
    {%- endif %}

)

{#- written_back_only: listed only because a push wrote or tried to write its record. Its
    desired row cannot differ (hubspot_invoices_desired reads HubSpot only for whether a
    record exists, and the push writes only invoices the last build's desired table held):
    that model skips it, the action and status-change models compare it again. #}
select
    xero_invoice_id,
    bool_and(written_back_only) as written_back_only
from final
where xero_invoice_id is not null
{#- a --full-refresh build rebuilds both models whole: it needs no list #}
{%- if flags.FULL_REFRESH %}
    and false
{%- endif %}
group by xero_invoice_id
