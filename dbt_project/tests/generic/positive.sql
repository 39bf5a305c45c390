{#
    A number that must be greater than zero when set (a currency rate: the marts divide by
    it, macros/finance.sql). Nulls pass: not_null says whether the column is required.
    The extract's gate checks the same (pipelines/xero/contract.py, rule "positive").
#}
{% test positive(model, column_name) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} <= 0

{% endtest %}
