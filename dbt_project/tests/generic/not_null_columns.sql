{#
    Every column in `columns` is set, on every row: dbt's not_null for several columns of one
    model in one test node. Each node of a build costs dbt its compile and bookkeeping whatever
    the query (issue 19: 86 not_null nodes of a 171-test build), a scan of the model is cheap;
    one node per model (per severity) keeps the guarantees of one not_null per column.

    A failing row is the model's whole row (the record: its key and the rest) after
    `null_columns`, the names of its columns that are null, so the failure view
    (store_failures_as: view) and the message quoting its first rows
    (reverse_etl/core/dbt_results.py) name the model (the test's name), the column and the
    record. The extract's gate checks the same columns ("required", pipelines/xero/contract.py);
    pipelines/xero/contract_coverage.py counts this test as a not_null on each column.
    concat_ws skips nulls (DuckDB and PostgreSQL alike).
#}
{% test not_null_columns(model, columns) %}

select
    concat_ws(
        ', ',
        {%- for column in columns %}
        case when {{ column }} is null then '{{ column }}' end{{ "," if not loop.last }}
        {%- endfor %}
    ) as null_columns,
    *
from {{ model }}
where
    {%- for column in columns %}
    {{ "or " if not loop.first }}{{ column }} is null
    {%- endfor %}

{% endtest %}
