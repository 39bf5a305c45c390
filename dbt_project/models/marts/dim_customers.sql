{#
    One row per Xero contact per organisation, with what it owes now, computed from its
    invoices: sales invoices (ACCREC) that are AUTHORISED with an amount due, in the
    organisation's base currency (each invoice converted at its own rate, macros/finance.sql),
    overdue when the due date is before today in the organisation's time zone.

    Xero's own `Balances` (AccountsReceivable Outstanding / Overdue) are kept beside them.
    Xero sums them "not converted to base currency" (Balances in XeroAPI/Xero-OpenAPI
    xero_accounting.yaml), so `receivables_match_xero` compares Xero's Outstanding with the
    unconverted sum of the open invoices' amount due. Xero computed its figure when the
    contact was last read, and a payment does not make Xero re-send the contact, so the check
    is made only when no invoice of the contact was loaded after the contact (null otherwise,
    or when Xero gave no balance); assert_customer_receivables_match_xero warns on each
    disagreement.
#}
with

contacts as (

    select * from {{ ref('stg_xero__contacts') }}

),

contact_persons as (

    select * from {{ ref('stg_xero__contact_persons') }}

),

invoices as (

    select * from {{ ref('fct_invoices') }}

),

payments as (

    select * from {{ ref('fct_payments') }}

),

credit_notes as (

    select * from {{ ref('stg_xero__credit_notes') }}

),

overpayments as (

    select * from {{ ref('stg_xero__overpayments') }}

),

prepayments as (

    select * from {{ ref('stg_xero__prepayments') }}

),

organisations as (

    select * from {{ ref('stg_xero__organisations') }}

),

receivables as (

    select
        invoices.contact_id,
        count(*) as open_invoice_count,
        count(*) filter (where invoices.days_overdue > 0) as overdue_invoice_count,
        sum(invoices.amount_due_in_base_currency) as receivables_outstanding,
        sum(invoices.amount_due) as receivables_outstanding_unconverted,
        coalesce(
            sum(invoices.amount_due_in_base_currency) filter (where invoices.days_overdue > 0), 0
        ) as receivables_overdue
    from invoices
    where invoices.invoice_type = 'ACCREC'
        and invoices.status = 'AUTHORISED'
        and invoices.amount_due > 0
    group by invoices.contact_id

),

{# When the contact's invoices were last loaded, to tell whether Xero's Balances are current. #}
invoice_loads as (

    select
        contact_id,
        max(cast(dlt_load_id as double precision)) as last_invoice_load
    from {{ ref('stg_xero__invoices') }}
    group by contact_id

),

last_payments as (

    select
        contact_id,
        max(payment_date) as last_payment_date
    from payments
    where not is_deleted
        and invoice_type = 'ACCREC'
    group by contact_id

),

{# Credit a customer holds that is not yet allocated to an invoice. #}
unallocated_credits as (

    select
        contact_id,
        sum({{ to_base_currency('remaining_credit', 'currency_rate') }}) as unallocated_credit
    from (
        select contact_id, remaining_credit, currency_rate
        from credit_notes
        where credit_note_type = 'ACCRECCREDIT' and status = 'AUTHORISED'
        union all
        select contact_id, remaining_credit, currency_rate
        from overpayments
        where overpayment_type = 'RECEIVE-OVERPAYMENT' and status = 'AUTHORISED'
        union all
        select contact_id, remaining_credit, currency_rate
        from prepayments
        where prepayment_type = 'RECEIVE-PREPAYMENT' and status = 'AUTHORISED'
    ) as open_credits
    where remaining_credit <> 0
    group by contact_id

),

email_addresses as (

    select
        contacts.contact_id,
        array_agg(distinct lower(email) order by lower(email)) filter (where email is not null) as email_addresses
    from contacts
    left join (
        {# Only the persons read with the contact's current version (docs/contracts.md). #}
        select contact_persons.contact_id, contact_persons.email_address as email
        from contact_persons
        inner join contacts as current_contacts
            on contact_persons.contact_id = current_contacts.contact_id
            and contact_persons.contact_updated_at = current_contacts.updated_at
        union all
        select contact_id, email_address as email from contacts
    ) as emails
        on contacts.contact_id = emails.contact_id
    group by contacts.contact_id

),

final as (

    select
        contacts.contact_id,
        contacts.tenant_id,
        contacts.contact_name,
        contacts.first_name,
        contacts.last_name,
        contacts.email_address,
        coalesce(email_addresses.email_addresses, cast(array[] as varchar[])) as email_addresses,
        contacts.account_number,
        contacts.contact_status,
        contacts.is_customer,
        contacts.is_supplier,
        contacts.default_currency,
        organisations.base_currency_code,
        coalesce(receivables.open_invoice_count, 0) as open_invoice_count,
        coalesce(receivables.overdue_invoice_count, 0) as overdue_invoice_count,
        cast(coalesce(receivables.receivables_outstanding, 0) as decimal(38, 2))
            as receivables_outstanding,
        cast(coalesce(receivables.receivables_overdue, 0) as decimal(38, 2))
            as receivables_overdue,
        cast(coalesce(unallocated_credits.unallocated_credit, 0) as decimal(38, 2))
            as unallocated_credit,
        last_payments.last_payment_date,
        contacts.xero_ar_outstanding,
        contacts.xero_ar_overdue,
        cast(coalesce(receivables.receivables_outstanding_unconverted, 0) as decimal(38, 9))
            as receivables_outstanding_unconverted,
        case
            when contacts.xero_ar_outstanding is null then null
            when invoice_loads.last_invoice_load > cast(contacts.dlt_load_id as double precision) then null
            else coalesce(receivables.receivables_outstanding_unconverted, 0)
                = contacts.xero_ar_outstanding
        end as receivables_match_xero,
        contacts.updated_at
    from contacts
    left join organisations
        on contacts.tenant_id = organisations.tenant_id
    left join receivables
        on contacts.contact_id = receivables.contact_id
    left join last_payments
        on contacts.contact_id = last_payments.contact_id
    left join invoice_loads
        on contacts.contact_id = invoice_loads.contact_id
    left join unallocated_credits
        on contacts.contact_id = unallocated_credits.contact_id
    left join email_addresses
        on contacts.contact_id = email_addresses.contact_id

)

select * from final
