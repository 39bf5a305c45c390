{#-
  PostgreSQL only (issue 22): rebuild tables and views without waiting for analysts.

  dbt's own `table` and `view` materializations (dbt-core's global project; dbt-postgres uses
  them as they are) build `<model>__dbt_tmp`, then `alter … rename` the old relation to
  `<model>__dbt_backup`, rename the new one into place and `drop … cascade` the backup. Each
  rename and drop needs an ACCESS EXCLUSIVE lock, which conflicts with the ACCESS SHARE lock
  every reader holds until its transaction ends (PostgreSQL docs, "Explicit Locking" →
  "Table-Level Locks": "ALTER TABLE … RENAME", "DROP TABLE"). So an analyst or a BI tool that
  left a transaction open after reading a mart blocks the hourly build indefinitely, and every
  query after it queues behind the waiting rename. `lock_timeout` would only turn that wait into
  a failed sync.

  The overrides below keep dbt's behaviour except where it would take that lock for nothing:

  - table: when the model's table exists with the same columns (names and types, in order),
    the new rows are built into `<model>__dbt_tmp` as dbt does, then `delete from` the table
    and `insert into` it from there in the model's transaction. DELETE and INSERT take ROW
    EXCLUSIVE, which does not conflict with readers: an analyst's open transaction goes on
    reading the rows it saw (MVCC), later statements see the new ones after the commit. The
    table keeps its grants, indexes and the views built on it (a swap's `drop … cascade` would
    drop those views). The price: dead rows for autovacuum, one table's worth per build.
    A new table, a changed column list or a relation of another type: dbt's own swap.
  - view: the new view is created as `<model>__dbt_tmp` and compared with the existing one
    (`pg_get_viewdef`, PostgreSQL's own normalised text, and its columns); unchanged (every
    hourly build), the temporary view is dropped and the existing one left alone; changed,
    dbt's own swap.

  Incremental models (the fact marts) already write with DELETE/INSERT (dbt-postgres's
  incremental materialization: a temporary table, then `insert into`); their `--full-refresh`
  still swaps. The same idea, as a DML refresh option, is in dbt-sqlserver (#641, #673) and was
  proposed for Redshift/Postgres in dbt-core #2426. Tested on a real cluster with an analyst's
  transaction held open: tests/analytics/test_analyst_transaction_on_postgres.py.
  DuckDB's (and every other adapter's) materializations are untouched. A root project may
  override a built-in materialization for one adapter and call the built-in one it wraps
  (docs.getdbt.com, "Package overrides for built-in materializations"): the fallbacks below
  are `materialization_table_default()` / `materialization_view_default()`, dbt's own.
-#}

{% materialization table, adapter='postgres' %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- if existing_relation is none or existing_relation.type != 'table' -%}
    {{ return(materialization_table_default()) }}
  {%- endif -%}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
  {%- set preexisting_intermediate_relation = load_cached_relation(intermediate_relation) -%}
  {%- set grant_config = config.get('grants') -%}
  {{ drop_relation_if_exists(preexisting_intermediate_relation) }}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% call statement('build_intermediate') -%}
    {{ get_create_table_as_sql(False, intermediate_relation, sql) }}
  {%- endcall %}

  {%- set new_columns = readers_first_columns(intermediate_relation) -%}
  {%- set old_columns = readers_first_columns(target_relation) -%}
  {%- if new_columns != old_columns -%}
    {#- a changed column list: dbt's swap (and its ACCESS EXCLUSIVE lock), as it would do -#}
    {%- set backup_relation = make_backup_relation(target_relation, 'table') -%}
    {{ drop_relation_if_exists(load_cached_relation(backup_relation)) }}
    {%- do adapter.rename_relation(target_relation, backup_relation) -%}
    {%- do adapter.rename_relation(intermediate_relation, target_relation) -%}
    {%- do create_indexes(target_relation) -%}
    {% call statement('main') -%}
      select 'swapped: the columns changed' as readers_first
    {%- endcall %}
  {%- else -%}
    {%- set quoted = [] -%}
    {%- for column in new_columns -%}{%- do quoted.append(adapter.quote(column[0])) -%}{%- endfor -%}
    {%- set column_list = quoted | join(', ') -%}
    {% call statement('main') -%}
      delete from {{ target_relation }};
      insert into {{ target_relation }} ({{ column_list }})
      select {{ column_list }} from {{ intermediate_relation }}
    {%- endcall %}
    {%- set backup_relation = intermediate_relation -%}
  {%- endif -%}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do apply_grants(target_relation, grant_config, should_revoke=should_revoke(existing_relation, full_refresh_mode=False)) %}
  {% do persist_docs(target_relation, model) %}
  {{ adapter.commit() }}
  {#- the intermediate (in place) or the old table (swapped): nobody reads either -#}
  {{ drop_relation_if_exists(backup_relation) }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{% materialization view, adapter='postgres' %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- if existing_relation is none or existing_relation.type != 'view' -%}
    {{ return(materialization_view_default()) }}
  {%- endif -%}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
  {%- set preexisting_intermediate_relation = load_cached_relation(intermediate_relation) -%}
  {{ drop_relation_if_exists(preexisting_intermediate_relation) }}
  {% call statement('build_intermediate') -%}
    {{ get_create_view_as_sql(intermediate_relation, sql) }}
  {%- endcall %}
  {%- set same = readers_first_same_view(intermediate_relation, target_relation) -%}
  {% call statement('drop_intermediate') -%}
    drop view if exists {{ intermediate_relation }} cascade
  {%- endcall %}
  {{ adapter.commit() }}
  {%- if not same -%}
    {{ return(materialization_view_default()) }}
  {%- endif -%}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {% call statement('main') -%}
    select 'unchanged: the view was left in place' as readers_first
  {%- endcall %}
  {% do apply_grants(target_relation, config.get('grants'), should_revoke=should_revoke(existing_relation, full_refresh_mode=False)) %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{#- [(name, type), …] of a relation's columns, in order (PostgreSQL's own type names). -#}
{% macro readers_first_columns(relation) %}
  {%- set query -%}
    select attname, format_type(atttypid, atttypmod) from pg_attribute
    where attrelid = '{{ relation.include(database=false) }}'::regclass
      and attnum > 0 and not attisdropped
    order by attnum
  {%- endset -%}
  {%- set rows = run_query(query) -%}
  {{ return(rows.rows | map('list') | list) }}
{% endmacro %}


{#- Whether two views have the same definition and columns (PostgreSQL's normalised text). -#}
{% macro readers_first_same_view(new_view, old_view) %}
  {%- set query -%}
    select pg_get_viewdef('{{ new_view.include(database=false) }}'::regclass, true)
         = pg_get_viewdef('{{ old_view.include(database=false) }}'::regclass, true)
  {%- endset -%}
  {%- set same_text = run_query(query).columns[0].values()[0] -%}
  {{ return(same_text and readers_first_columns(new_view) == readers_first_columns(old_view)) }}
{% endmacro %}
