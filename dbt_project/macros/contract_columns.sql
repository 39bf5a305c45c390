{#
    The final select of an incremental mart, in its contract's column types (issue 22).

    An incremental run builds the new rows into a temporary relation and, with
    on_schema_change='fail', compares its columns with the existing table's. On PostgreSQL the
    two are made differently: the table by the contract's DDL (`create table (... varchar,
    numeric(38,9) ...)` then an insert), the temporary relation by `create temporary table as
    (sql)`, which dbt-postgres keeps free of the contract's column list (dbt-core #8857, #8896;
    dbt-adapters' postgres__create_table_as), so it carries the types the SQL yields. dbt then
    compares PostgresColumn.data_type strings: `text` is not `character varying`, an unconstrained
    `numeric` (what PostgreSQL's arithmetic, coalesce and round give) is not `numeric(38,9)`,
    and the second build fails ("New column types: currency_code text, ...").

    So on PostgreSQL the final select casts each column to the type its YAML declares: the
    temporary relation then has exactly the table's types, and the values are those the first
    build's insert into the contract's table gives (the same assignment casts). On DuckDB the
    SQL already yields the contract's types (its contract check is exact there, and the
    incremental runs pass: tests/e2e/test_incremental_marts.py), and the select is unchanged.
    DuckDB's build also checks the SQL's column list against the YAML; on PostgreSQL a column
    the YAML does not name would be left out here, so the YAML stays the list.
#}
{% macro select_contract_columns(relation) -%}
    {{ return(adapter.dispatch('select_contract_columns', 'xero_hubspot_invoices')(relation)) }}
{%- endmacro %}

{% macro default__select_contract_columns(relation) -%}
    select * from {{ relation }}
{%- endmacro %}

{% macro postgres__select_contract_columns(relation) -%}
    {%- set columns = model.columns.values() | list -%}
    {%- if not execute -%}
        {#- parsing: the YAML's columns are not attached to the model yet -#}
        select * from {{ relation }}
    {%- elif not columns -%}
        {{ exceptions.raise_compiler_error("select_contract_columns: " ~ model.name ~ " declares no columns") }}
    {%- else %}
    select
    {%- for column in columns %}
        cast({{ adapter.quote(column.name) }} as {{ column.data_type }}) as {{ adapter.quote(column.name) }}
        {{- ',' if not loop.last }}
    {%- endfor %}
    from {{ relation }}
    {%- endif %}
{%- endmacro %}
