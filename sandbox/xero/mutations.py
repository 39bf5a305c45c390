"""Changes a person makes in Xero (filled in below)."""
