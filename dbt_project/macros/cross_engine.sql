{#
    Where DuckDB and PostgreSQL spell the same thing differently (issue 22): one set of models,
    and these macros pick the spelling through adapter.dispatch
    (https://docs.getdbt.com/reference/dbt-jinja-functions/dispatch). The duckdb__ (or default__)
    version is what the models always wrote, unchanged; postgres__ is the same meaning on
    PostgreSQL. tests/postgres/test_marts_on_both_engines.py builds the demo books on both
    engines and compares the marts row for row.

    Where a portable spelling exists on both, the models use it directly instead: array[...],
    cast(array[] as varchar[]), array_agg, dbt.any_value.
#}

{#
    One row per partition, the first by `order_by`: DuckDB's (and Snowflake's, BigQuery's)
    QUALIFY; PostgreSQL has no QUALIFY and takes DISTINCT ON instead. `order_by` is a list of
    terms; PostgreSQL is told NULLS LAST for each term that does not say, as DuckDB sorts nulls
    last in both directions where PostgreSQL sorts them first when descending
    (https://duckdb.org/docs/sql/query_syntax/orderby; PostgreSQL docs, "Sorting Rows").
#}
{% macro first_row_per(relation, partition_by, order_by, where=none) -%}
    {{ return(adapter.dispatch('first_row_per', 'xero_hubspot_invoices')(relation, partition_by, order_by, where)) }}
{%- endmacro %}

{% macro default__first_row_per(relation, partition_by, order_by, where) -%}
    select * from {{ relation }}
    {% if where %}where {{ where }}{% endif %}
    qualify row_number() over (
        partition by {{ partition_by | join(', ') }}
        order by {{ order_by | join(', ') }}
    ) = 1
{%- endmacro %}

{% macro postgres__first_row_per(relation, partition_by, order_by, where) -%}
    select distinct on ({{ partition_by | join(', ') }}) * from {{ relation }}
    {% if where %}where {{ where }}{% endif %}
    order by {{ partition_by | join(', ') }},
        {% for term in order_by -%}
        {{ term }}{{ '' if 'nulls' in term | lower else ' nulls last' }}{{ ', ' if not loop.last }}
        {%- endfor %}
{%- endmacro %}

{#
    A cast that gives null instead of failing. PostgreSQL 15 has no TRY_CAST: a text `value`
    is cast only when it has the shape the type reads (a number, a date, an ISO 8601 time), so
    what DuckDB's try_cast turns into null is null there too. `from_text=false`: the value is
    already a number, and only the cast remains.
#}
{% macro try_cast_as(value, data_type, from_text=true) -%}
    {{ return(adapter.dispatch('try_cast_as', 'xero_hubspot_invoices')(value, data_type, from_text)) }}
{%- endmacro %}

{% macro default__try_cast_as(value, data_type, from_text) -%}
    try_cast({{ value }} as {{ data_type }})
{%- endmacro %}

{% macro postgres__try_cast_as(value, data_type, from_text) -%}
    {%- set kind = data_type | lower -%}
    {%- if not from_text -%}
        cast({{ value }} as {{ data_type }})
    {%- else -%}
        {%- if kind.startswith('decimal') or kind.startswith('numeric') -%}
            {%- set shape = '^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)\s*$' -%}
        {%- elif kind in ('double', 'float', 'real', 'double precision') -%}
            {%- set shape = '^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$' -%}
        {%- elif kind in ('bigint', 'integer', 'int') -%}
            {%- set shape = '^\s*[+-]?[0-9]{1,18}\s*$' -%}
        {%- elif kind == 'date' -%}
            {%- set shape = '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' -%}
        {%- elif kind.startswith('timestamp') -%}
            {%- set shape = '^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?\s*(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$' -%}
        {%- else -%}
            {{ exceptions.raise_compiler_error("try_cast_as: no PostgreSQL shape for " ~ data_type) }}
        {%- endif -%}
        {%- set pg_type = 'double precision' if kind == 'double' else data_type -%}
        case when {{ value }} ~ '{{ shape }}' then cast({{ value }} as {{ pg_type }}) end
    {%- endif -%}
{%- endmacro %}

{# Whether the whole string matches a regular expression. #}
{% macro regexp_full_match(value, pattern) -%}
    {{ return(adapter.dispatch('regexp_full_match', 'xero_hubspot_invoices')(value, pattern)) }}
{%- endmacro %}

{% macro default__regexp_full_match(value, pattern) -%}
    regexp_full_match({{ value }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__regexp_full_match(value, pattern) -%}
    ({{ value }} ~ '^({{ pattern }})$')
{%- endmacro %}

{# Epoch milliseconds -> timestamp (without time zone, in UTC), exact to the millisecond. #}
{% macro epoch_ms_to_timestamp(milliseconds) -%}
    {{ return(adapter.dispatch('epoch_ms_to_timestamp', 'xero_hubspot_invoices')(milliseconds)) }}
{%- endmacro %}

{% macro default__epoch_ms_to_timestamp(milliseconds) -%}
    epoch_ms({{ milliseconds }})
{%- endmacro %}

{% macro postgres__epoch_ms_to_timestamp(milliseconds) -%}
    (timestamp '1970-01-01' + {{ milliseconds }} * interval '1 millisecond')
{%- endmacro %}

{#
    A date or timestamp as text in a strftime format (DuckDB's strftime; PostgreSQL's to_char,
    the format translated: %Y %m %d %H %M %S, %f microseconds, %g milliseconds, literal T and Z).
#}
{% macro format_timestamp(expression, format) -%}
    {{ return(adapter.dispatch('format_timestamp', 'xero_hubspot_invoices')(expression, format)) }}
{%- endmacro %}

{% macro default__format_timestamp(expression, format) -%}
    strftime({{ expression }}, '{{ format }}')
{%- endmacro %}

{% macro postgres__format_timestamp(expression, format) -%}
    {%- set pattern = format.replace('T', '"T"').replace('Z', '"Z"')
        .replace('%Y', 'YYYY').replace('%m', 'MM').replace('%d', 'DD')
        .replace('%H', 'HH24').replace('%M', 'MI').replace('%S', 'SS')
        .replace('%f', 'US').replace('%g', 'MS') -%}
    to_char({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{# A list without its null elements; the list is the argument, or the body of a call block. #}
{% macro drop_nulls(list_expression=none) -%}
    {%- set expression = list_expression if list_expression is not none else caller() -%}
    {{ return(adapter.dispatch('drop_nulls', 'xero_hubspot_invoices')(expression)) }}
{%- endmacro %}

{% macro default__drop_nulls(list_expression) -%}
    list_filter({{ list_expression }}, lambda element: element is not null)
{%- endmacro %}

{% macro postgres__drop_nulls(list_expression) -%}
    array_remove({{ list_expression }}, null)
{%- endmacro %}

{# Whether a list holds a value. #}
{% macro list_has(list_expression, value) -%}
    {{ return(adapter.dispatch('list_has', 'xero_hubspot_invoices')(list_expression, value)) }}
{%- endmacro %}

{% macro default__list_has(list_expression, value) -%}
    list_contains({{ list_expression }}, {{ value }})
{%- endmacro %}

{% macro postgres__list_has(list_expression, value) -%}
    ({{ value }} = any({{ list_expression }}))
{%- endmacro %}

{#
    `alias.*` without the columns in `except`: DuckDB's `* exclude`; PostgreSQL lists the
    relation's other columns (read from the warehouse when the model runs).
#}
{% macro star_except(relation, alias, except) -%}
    {{ return(adapter.dispatch('star_except', 'xero_hubspot_invoices')(relation, alias, except)) }}
{%- endmacro %}

{% macro default__star_except(relation, alias, except) -%}
    {{ alias }}.* exclude ({{ except | join(', ') }})
{%- endmacro %}

{% macro postgres__star_except(relation, alias, except) -%}
    {%- if execute -%}
        {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | reject('in', except) | list -%}
        {%- for column in columns -%}
            {{ alias }}.{{ adapter.quote(column) }}{{ ', ' if not loop.last }}
        {%- endfor -%}
    {%- else -%}
        {{ alias }}.*
    {%- endif -%}
{%- endmacro %}

{# Integer arithmetic wider than bigint, exact: DuckDB's HUGEINT and `//`; PostgreSQL's numeric and div(). #}
{% macro wide_integer() -%}
    {{ return(adapter.dispatch('wide_integer', 'xero_hubspot_invoices')()) }}
{%- endmacro %}

{% macro default__wide_integer() -%}hugeint{%- endmacro %}

{% macro postgres__wide_integer() -%}numeric(76, 0){%- endmacro %}

{% macro integer_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('integer_divide', 'xero_hubspot_invoices')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__integer_divide(numerator, denominator) -%}
    ({{ numerator }} // {{ denominator }})
{%- endmacro %}

{% macro postgres__integer_divide(numerator, denominator) -%}
    div({{ numerator }}, {{ denominator }})
{%- endmacro %}

{#
    The text of one top-level key of a JSON document stored as text (null when absent):
    DuckDB's json_extract_string with a JSONPath, PostgreSQL's ->> on the text cast to json
    (PostgreSQL docs, "JSON Functions and Operators"). `key` is a SQL expression (a quoted
    literal or a column), so the key may come from a row.
#}
{% macro json_key_text(json_text, key) -%}
    {{ return(adapter.dispatch('json_key_text', 'xero_hubspot_invoices')(json_text, key)) }}
{%- endmacro %}

{% macro default__json_key_text(json_text, key) -%}
    json_extract_string({{ json_text }}, '$."' || {{ key }} || '"')
{%- endmacro %}

{% macro postgres__json_key_text(json_text, key) -%}
    (cast({{ json_text }} as json) ->> {{ key }})
{%- endmacro %}
