{#
    fct_ar_aging summed per customer and invoice currency: one column per bucket, in the
    invoice currency and in the organisation's base currency (the sum of each invoice's
    rounded base amount, so the rows add up to fct_ar_aging exactly). Sum the base-currency
    columns over currencies for a customer's total.
#}
{%- set buckets = [
    ("current", "current_due"),
    ("1-30", "overdue_1_30"),
    ("31-60", "overdue_31_60"),
    ("61-90", "overdue_61_90"),
    ("90+", "overdue_over_90"),
] -%}
with

aging as (

    select * from {{ ref('fct_ar_aging') }}

),

final as (

    select
        tenant_id,
        contact_id,
        currency_code,
        {{ dbt.any_value('contact_name') }} as contact_name,
        {{ dbt.any_value('as_of_date') }} as as_of_date,
        {{ dbt.any_value('base_currency_code') }} as base_currency_code,
        count(*) as open_invoice_count,
        {%- for bucket, column in buckets %}
        cast(coalesce(sum(amount_due) filter (where aging_bucket = '{{ bucket }}'), 0)
            as decimal(38, 9)) as {{ column }},
        {%- endfor %}
        cast(sum(amount_due) as decimal(38, 9)) as total_outstanding,
        {%- for bucket, column in buckets %}
        cast(coalesce(sum(amount_due_in_base_currency) filter (where aging_bucket = '{{ bucket }}'), 0)
            as decimal(38, 2)) as {{ column }}_in_base_currency,
        {%- endfor %}
        cast(sum(amount_due_in_base_currency) as decimal(38, 2)) as total_outstanding_in_base_currency
    from aging
    group by tenant_id, contact_id, currency_code

)

select * from final
