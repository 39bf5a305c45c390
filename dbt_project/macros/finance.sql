{#
    Money and calendar helpers of the finance marts (each used by several models).

    to_base_currency(amount, rate): an amount in the invoice's currency in the organisation's
    base currency, exact to the cent. Xero's `CurrencyRate` is units of the transaction's
    currency per one unit of the base currency (a base-currency invoice has rate 1; Xero
    keeps rates to 6 decimal places: help.xero.com "Currency settings"; `CurrencyRate` in
    XeroAPI/Xero-OpenAPI xero_accounting.yaml: "Exchange rate when payment is received …
    e.g. 0.7500"), so base = amount / rate.

    Rounding rule: the exact quotient amount / rate, rounded once to 2 decimal places, half to
    even (banker's rounding: 0.125 -> 0.12, 0.135 -> 0.14). No floating-point step: DuckDB
    divides decimals in DOUBLE, so the quotient is computed on HUGEINT (amount and rate
    scaled by 10^9, both exact in decimal(38,9)) with integer division and remainder.
    Null when the rate is null or 0 (never defaulted to 1). Sums in base currency are sums of
    these per-document roundings.
#}
{% macro to_base_currency(amount, rate) -%}
    {{ return(adapter.dispatch('to_base_currency', 'xero_hubspot_invoices')(amount, rate)) }}
{%- endmacro %}

{#
    DuckDB: the same result, faster (issue 19). The HUGEINT division costs about a second per
    100,000 rows and column; most quotients are nowhere near a half cent, and for those the
    DOUBLE quotient rounds to the same cent. DuckDB computes amount / rate in DOUBLE (each
    decimal converted, then divided: a relative error of a few units in the last place,
    2^-52 ≈ 2.2e-16 each), so while the quotient in cents x = |amount| / |rate| * 100 is below
    1e11, it is off by less than 1e-4 cent: when x's fraction is more than 0.01 away from .5,
    round-half-up of x (floor(x + 0.5)) is the exact rounding. Every other row (a tie or near
    one, a huge quotient) takes the exact path, evaluated only for those rows (DuckDB runs a
    CASE branch on the rows that reach it). Checked against the exact path on 100k generated
    invoices and on millions of random and tie-constructed amounts and rates.
#}
{% macro duckdb__to_base_currency(amount, rate) -%}
    {%- set cents = "(abs(" ~ amount ~ ") / abs(" ~ rate ~ ") * 100)" -%}
    case
        when {{ rate }} is null or {{ rate }} = 0 or {{ amount }} is null then null
        when {{ cents }} < 1e11 and abs({{ cents }} - floor({{ cents }}) - 0.5) > 0.01
            then cast(
                cast(sign({{ amount }}) * sign({{ rate }}) * floor({{ cents }} + 0.5) as decimal(38, 0))
                * 0.01 as decimal(38, 2)
            )
        else {{ default__to_base_currency(amount, rate) }}
    end
{%- endmacro %}

{% macro default__to_base_currency(amount, rate) -%}
    {%- set numerator = "(cast(abs(cast(" ~ amount ~ " as decimal(38, 9))) * 1000000000 as " ~ wide_integer() ~ ") * 100)" -%}
    {%- set denominator = "cast(abs(cast(" ~ rate ~ " as decimal(38, 9))) * 1000000000 as " ~ wide_integer() ~ ")" -%}
    {%- set quotient = integer_divide(numerator, denominator) -%}
    {%- set remainder = "(" ~ numerator ~ " % " ~ denominator ~ ")" -%}
    case
        when {{ rate }} is null or {{ rate }} = 0 or {{ amount }} is null then null
        else cast(
            cast(
                sign({{ amount }}) * sign({{ rate }}) * (
                    {{ quotient }}
                    + case
                        when 2 * {{ remainder }} > {{ denominator }} then 1
                        when 2 * {{ remainder }} = {{ denominator }} and {{ quotient }} % 2 = 1 then 1
                        else 0
                    end
                ) as decimal(38, 0)
            ) * 0.01 as decimal(38, 2)
        )
    end
{%- endmacro %}

{#
    "Today" for an organisation: the calendar date now in its IANA time zone (Xero dates, due
    dates and ageing are all in the organisation's own calendar). var('as_of_date') (a
    'YYYY-MM-DD' string) fixes it for every organisation, for tests and for re-running a
    report as of a past day.
#}
{% macro organisation_today(timezone_expression) -%}
    {%- if var('as_of_date', none) -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
        cast(timezone(coalesce({{ timezone_expression }}, 'UTC'), current_timestamp) as date)
    {%- endif -%}
{%- endmacro %}

{# Start of a local calendar day in a time zone, as an instant (timestamp with time zone). #}
{% macro local_midnight(date_expression, timezone_expression) -%}
    timezone(coalesce({{ timezone_expression }}, 'UTC'), cast({{ date_expression }} as timestamp))
{%- endmacro %}
