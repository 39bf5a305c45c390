"""HubSpot custom-object records → ``raw_hubspot.invoice_records`` (what HubSpot holds now)."""
