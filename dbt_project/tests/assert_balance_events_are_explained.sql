{#
    Each posted invoice's payments and allocations account for its AmountDue. An UNEXPLAINED
    event means a payment or credit is missing from the warehouse (e.g. older than the
    payments extract, or a failed load): balances stay right today but the date of that part
    is a guess. A warning, not an error: the marts are still usable.
#}
{{ config(severity='warn') }}

select
    invoice_id,
    event_date,
    amount_change
from {{ ref('int_invoice_balance_events') }}
where event_type = 'UNEXPLAINED'
