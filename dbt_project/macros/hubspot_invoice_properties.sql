{#
    The HubSpot properties of the custom object and their HubSpot types, in the order of
    reverse_etl.hubspot.properties.INVOICE_PROPERTIES (the single definition in Python; a test in
    tests/transform checks this list against it). Used to parse HubSpot's values and to diff
    them against the desired values, one property at a time.
#}
{% macro hubspot_invoice_properties() %}
    {{ return([
        {"name": "xero_invoice_id", "type": "string"},
        {"name": "invoice_number", "type": "string"},
        {"name": "invoice_type", "type": "enumeration"},
        {"name": "status", "type": "enumeration"},
        {"name": "contact_name", "type": "string"},
        {"name": "xero_contact_id", "type": "string"},
        {"name": "reference", "type": "string"},
        {"name": "currency_code", "type": "string"},
        {"name": "currency_rate", "type": "number"},
        {"name": "sub_total", "type": "number"},
        {"name": "total_tax", "type": "number"},
        {"name": "total", "type": "number"},
        {"name": "amount_due", "type": "number"},
        {"name": "amount_paid", "type": "number"},
        {"name": "amount_credited", "type": "number"},
        {"name": "invoice_date", "type": "date"},
        {"name": "due_date", "type": "date"},
        {"name": "fully_paid_on_date", "type": "date"},
        {"name": "xero_updated_at", "type": "datetime"},
        {"name": "xero_tenant_id", "type": "string"},
        {"name": "xero_url", "type": "string"},
    ]) }}
{% endmacro %}
