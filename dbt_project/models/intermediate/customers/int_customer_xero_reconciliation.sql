{#
    Does our receivables figure agree with Xero's own Balances, per Xero contact?

    Xero sums AccountsReceivable Outstanding "not converted to base currency" (Balances in
    XeroAPI/Xero-OpenAPI xero_accounting.yaml), so Xero's Outstanding is compared with the
    unconverted sum of the open invoices' amount due (int_customer_receivables). Xero computed
    its figure when the contact was last read, and a payment does not make Xero re-send the
    contact, so the check is made only when no invoice of the contact was loaded after the
    contact: null otherwise, or when Xero gave no balance. assert_customer_receivables_match_xero
    warns on each disagreement. Ephemeral: a CTE of dim_customers, its one consumer.
#}
{{ config(materialized='ephemeral') }}

with

contacts as (

    select * from {{ ref('stg_xero__contacts') }}

),

receivables as (

    select * from {{ ref('int_customer_receivables') }}

),

{# When the contact's invoices were last loaded, to tell whether Xero's Balances are current. #}
invoice_loads as (

    select
        contact_id,
        max(cast(dlt_load_id as double precision)) as last_invoice_load
    from {{ ref('stg_xero__invoices') }}
    group by contact_id

),

final as (

    select
        contacts.contact_id,
        case
            when contacts.xero_ar_outstanding is null then null
            when invoice_loads.last_invoice_load > cast(contacts.dlt_load_id as double precision) then null
            else coalesce(receivables.receivables_outstanding_unconverted, 0)
                = contacts.xero_ar_outstanding
        end as receivables_match_xero
    from contacts
    left join receivables
        on contacts.contact_id = receivables.contact_id
    left join invoice_loads
        on contacts.contact_id = invoice_loads.contact_id

)

select * from final
