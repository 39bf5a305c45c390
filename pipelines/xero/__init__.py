"""Xero Accounting API → ``raw_xero``: client (auth, paging, limits), dates, dlt source."""
