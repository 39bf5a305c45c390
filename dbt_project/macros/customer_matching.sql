{#
    Company names compared after normalising case, punctuation and legal suffixes:
    lower-case, every run of non-alphanumerics becomes one space ("&" and "and" are kept
    apart), then trailing legal-suffix words from the seed `legal_suffixes` are dropped, up to
    three ("Acme Pty. Ltd." -> "acme", "ACME, Inc" -> "acme"). `suffixes` is a SQL list
    expression of the seed's words. Accents are not folded.

    Each step binds its input to a lambda parameter (`list_transform([x], lambda w: ...)[1]`),
    so the words are split once per name: written out as nested CASEs, the three steps repeated
    the split (and its regular expression) 64 times per name.
#}
{% macro normalise_company_name(expression, suffixes) -%}
    {{ return(adapter.dispatch('normalise_company_name', 'xero_hubspot_invoices')(expression, suffixes)) }}
{%- endmacro %}

{% macro default__normalise_company_name(expression, suffixes) -%}
    {%- set words = "list_filter(string_split(trim(regexp_replace(lower(" ~ expression ~ "), '[^\p{L}\p{N}]+', ' ', 'g')), ' '), lambda w: w <> '')" -%}
    {%- set once = strip_suffix_word(words, suffixes) -%}
    {%- set twice = strip_suffix_word(once, suffixes) -%}
    nullif(array_to_string({{ strip_suffix_word(twice, suffixes) }}, ' '), '')
{%- endmacro %}

{# Drop the last word when it is a legal suffix and another word remains before it. #}
{% macro strip_suffix_word(words, suffixes) -%}
    list_transform([{{ words }}], lambda w: case
        when len(w) > 1 and list_contains({{ suffixes }}, w[-1]) then w[1:len(w) - 1]
        else w
    end)[1]
{%- endmacro %}

{#
    PostgreSQL (macros/cross_engine.sql): no lambdas, so each step binds its input in a scalar
    subquery instead; [[:alnum:]] is Unicode-aware with a UTF-8 LC_CTYPE, as \p{L}\p{N} is in
    DuckDB.
#}
{% macro postgres__normalise_company_name(expression, suffixes) -%}
    {%- set words = "array_remove(regexp_split_to_array(trim(regexp_replace(lower(" ~ expression ~ "), '[^[:alnum:]]+', ' ', 'g')), ' '), '')" -%}
    {%- set once = postgres__strip_suffix_word(words, suffixes) -%}
    {%- set twice = postgres__strip_suffix_word(once, suffixes) -%}
    nullif(array_to_string({{ postgres__strip_suffix_word(twice, suffixes) }}, ' '), '')
{%- endmacro %}

{% macro postgres__strip_suffix_word(words, suffixes) -%}
    (select case
        when cardinality(w) > 1 and w[cardinality(w)] = any({{ suffixes }}) then w[1:cardinality(w) - 1]
        else w
    end from (select {{ words }} as w) as step)
{%- endmacro %}

{#
    The domain of an email address when it can name a company: null for a free-mail domain
    (seed `free_mail_domains`), whose domain says nothing about the customer. One rule for the
    matching (customer_match_candidates, rule 3) and the domain of a created company
    (hubspot_company_actions).
#}
{% macro company_email_domain(email) -%}
    case
        when split_part({{ email }}, '@', 2) not in (
            select lower(domain) from {{ ref('free_mail_domains') }}
        )
            then split_part({{ email }}, '@', 2)
    end
{%- endmacro %}
