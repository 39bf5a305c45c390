{#
    The company writes: the "Xero" properties of each matched company (balances from
    marts.dim_customers, in the organisation's base currency), only when a value differs from
    what HubSpot holds (UPDATE, `changed_properties`); CLEAR for a company still carrying
    invoice-sync's own `xero_contact_id` stamp that no customer matches any more (the match
    moved); CREATE, with var('hubspot_create_companies') only, for a customer no rule found
    any candidate for (ambiguous customers are never created).

    `xero_contact_id` is written only over an empty value or the tool's own stamp: a value a
    person set is kept. This model is the diff and the HubSpot formats; the balances per
    company are int_company_balances (the roll-up), the companies to create
    int_company_creates (the create decision, with the company's domain). The property lists
    sent are the seed hubspot_company_properties (also what `invoice-sync setup` creates and the
    snapshot reads).
#}
with

companies as (

    select * from {{ ref('stg_hubspot__companies') }}

),

stamps as (

    select * from {{ ref('stg_hubspot__company_stamps') }}

),

balances as (

    select * from {{ ref('int_company_balances') }}

),

new_companies as (

    select * from {{ ref('int_company_creates') }}

),

{# The lists of properties a CLEAR and a CREATE send, in the seed's order. #}
company_properties as (

    select
        array_agg(name order by position) as every_property,
        array_agg(name order by position) filter (where created_by_setup) as xero_properties
    from {{ ref('hubspot_company_properties') }}

),

desired as (

    select
        balances.hs_company_id,
        balances.contact_id,
        case
            when companies.xero_contact_id is null
                or stamps.stamped_xero_contact_id is not distinct from companies.xero_contact_id
                then balances.contact_id
            else companies.xero_contact_id
        end as xero_contact_id,
        {{ to_hubspot_number('balances.outstanding') }} as xero_amount_outstanding,
        {{ to_hubspot_number('balances.overdue') }} as xero_amount_overdue,
        {{ to_hubspot_number('balances.open_invoices') }} as xero_open_invoices,
        {{ to_hubspot_date('balances.last_payment_date') }} as xero_last_payment_date
    from balances
    inner join companies
        on balances.hs_company_id = companies.hs_company_id
    left join stamps
        on balances.hs_company_id = stamps.hs_company_id

),

compared as (

    select
        desired.*,
        {% call drop_nulls() %}
            array[
                case when desired.xero_contact_id is distinct from companies.xero_contact_id
                    then 'xero_contact_id' end,
                case when {{ parse_hubspot_value('desired.xero_amount_outstanding', 'number') }}
                    is distinct from companies.xero_amount_outstanding
                    then 'xero_amount_outstanding' end,
                case when {{ parse_hubspot_value('desired.xero_amount_overdue', 'number') }}
                    is distinct from companies.xero_amount_overdue
                    then 'xero_amount_overdue' end,
                case when {{ parse_hubspot_value('desired.xero_open_invoices', 'number') }}
                    is distinct from companies.xero_open_invoices
                    then 'xero_open_invoices' end,
                case when {{ parse_hubspot_value('desired.xero_last_payment_date', 'date') }}
                    is distinct from companies.xero_last_payment_date
                    then 'xero_last_payment_date' end
            ]
        {% endcall %} as changed_properties
    from desired
    inner join companies
        on desired.hs_company_id = companies.hs_company_id

),

updates as (

    select
        'UPDATE' as action,
        hs_company_id,
        contact_id,
        cast(changed_properties as varchar[]) as changed_properties,
        cast(null as varchar) as name,
        cast(null as varchar) as domain,
        xero_contact_id,
        xero_amount_outstanding,
        xero_amount_overdue,
        xero_open_invoices,
        xero_last_payment_date
    from compared
    where cardinality(changed_properties) > 0

),

clears as (

    select
        'CLEAR' as action,
        companies.hs_company_id,
        companies.xero_contact_id as contact_id,
        cast((select xero_properties from company_properties) as varchar[])
            as changed_properties,
        cast(null as varchar) as name,
        cast(null as varchar) as domain,
        cast(null as varchar) as xero_contact_id,
        cast(null as varchar) as xero_amount_outstanding,
        cast(null as varchar) as xero_amount_overdue,
        cast(null as varchar) as xero_open_invoices,
        cast(null as varchar) as xero_last_payment_date
    from companies
    inner join stamps
        on companies.hs_company_id = stamps.hs_company_id
        and companies.xero_contact_id = stamps.stamped_xero_contact_id
    where companies.hs_company_id not in (select hs_company_id from balances)

),

creates as (

    select
        'CREATE' as action,
        cast(null as varchar) as hs_company_id,
        contact_id,
        cast((select every_property from company_properties) as varchar[])
            as changed_properties,
        name,
        domain,
        contact_id as xero_contact_id,
        {{ to_hubspot_number('receivables_outstanding') }} as xero_amount_outstanding,
        {{ to_hubspot_number('receivables_overdue') }} as xero_amount_overdue,
        {{ to_hubspot_number('open_invoice_count') }} as xero_open_invoices,
        {{ to_hubspot_date('last_payment_date') }} as xero_last_payment_date
    from new_companies

),

final as (

    select * from updates
    union all
    select * from clears
    union all
    select * from creates

)

select * from final
