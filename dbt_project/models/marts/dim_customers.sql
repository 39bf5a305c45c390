{#
    One row per Xero contact per organisation: the contact, with what it owes now
    (int_customer_receivables: open sales invoices, in the organisation's base currency),
    the credit it holds unallocated (int_customer_credits), its latest payment
    (int_customer_last_payment), every email address it is known by
    (int_customer_email_addresses), and Xero's own `Balances` beside whether they agree with
    ours (int_customer_xero_reconciliation). Each concern is its own intermediate model;
    this one only joins them to the contact.
#}
with

contacts as (

    select * from {{ ref('stg_xero__contacts') }}

),

organisations as (

    select * from {{ ref('stg_xero__organisations') }}

),

receivables as (

    select * from {{ ref('int_customer_receivables') }}

),

unallocated_credits as (

    select * from {{ ref('int_customer_credits') }}

),

last_payments as (

    select * from {{ ref('int_customer_last_payment') }}

),

email_addresses as (

    select * from {{ ref('int_customer_email_addresses') }}

),

xero_reconciliation as (

    select * from {{ ref('int_customer_xero_reconciliation') }}

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
        xero_reconciliation.receivables_match_xero,
        contacts.updated_at
    from contacts
    left join organisations
        on contacts.tenant_id = organisations.tenant_id
    left join receivables
        on contacts.contact_id = receivables.contact_id
    left join last_payments
        on contacts.contact_id = last_payments.contact_id
    left join unallocated_credits
        on contacts.contact_id = unallocated_credits.contact_id
    left join email_addresses
        on contacts.contact_id = email_addresses.contact_id
    left join xero_reconciliation
        on contacts.contact_id = xero_reconciliation.contact_id

)

select * from final
