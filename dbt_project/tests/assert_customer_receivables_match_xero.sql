{#
    What we compute a customer owes (open sales invoices, base currency) agrees with Xero's
    own Balances.AccountsReceivable.Outstanding for the contact. Xero's figure is as of the
    contact's last read, so a disagreement is a warning to look at, not a failed build.
#}
{{ config(severity='warn') }}

select
    contact_id,
    contact_name,
    receivables_outstanding,
    xero_ar_outstanding
from {{ ref('dim_customers') }}
where receivables_match_xero = false
