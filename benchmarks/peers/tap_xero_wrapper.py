"""Run the Singer ``tap-xero`` 2.6.0 against the Xero emulator (in the tap's own virtualenv).

tap-xero has no setting for its hosts: the API root is the module constant
``tap_xero.client.BASE_URL`` and the token request goes to a literal
``https://identity.xero.com/connect/token``. This wrapper imports the tap, points
``BASE_URL`` at the emulator, redirects that one token URL (by wrapping
``requests.Session.post``), sends the tap's Singer messages to a file, and calls the tap's own
``main()``: none of the tap's code is copied or changed.

Usage (with the tap's interpreter, never ours: its pins clash with the project's)::

    python tap_xero_wrapper.py catalog CATALOG.json
    python tap_xero_wrapper.py sync --xero-url URL --config CONFIG.json --catalog CATALOG.json \
        --out MESSAGES.jsonl

``sync`` prints one JSON line: seconds inside ``main()``, records written, peak RSS.
This file must run on the tap's Python alone: it imports nothing from the project.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

IDENTITY_TOKEN_URL = "https://identity.xero.com/connect/token"


def make_catalog(path: str) -> None:
    """A catalog selecting ``invoices`` (all fields), built offline with the tap's own code —
    its discovery mode would call ``/Currencies``, which the emulator does not serve."""
    from singer import metadata
    from tap_xero import load_metadata, load_schema
    from tap_xero import streams as streams_

    stream = next(s for s in streams_.all_streams if s.tap_stream_id == "invoices")
    schema = load_schema("invoices")
    mdata = metadata.to_map(load_metadata(stream, schema))
    mdata = metadata.write(mdata, (), "selected", True)
    entry = {
        "stream": "invoices",
        "tap_stream_id": "invoices",
        "key_properties": stream.pk_fields,
        "schema": schema,
        "metadata": metadata.to_list(mdata),
    }
    with open(path, "w") as handle:
        json.dump({"streams": [entry]}, handle)


def sync(xero_url: str, config: str, catalog: str, out: str) -> None:
    import requests
    import tap_xero
    import tap_xero.client

    tap_xero.client.BASE_URL = xero_url.rstrip("/") + "/api.xro/2.0"
    token_url = xero_url.rstrip("/") + "/connect/token"
    original_post = requests.Session.post

    def post(self, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        if url == IDENTITY_TOKEN_URL:
            url = token_url
        return original_post(self, url, *args, **kwargs)

    requests.Session.post = post  # type: ignore[method-assign]
    real_stdout = sys.stdout
    sys.argv = ["tap-xero", "--config", config, "--catalog", catalog]
    with open(out, "w", buffering=1 << 20) as messages:
        sys.stdout = messages
        started = time.perf_counter()
        try:
            tap_xero.main()
        finally:
            seconds = time.perf_counter() - started
            sys.stdout = real_stdout
    records = 0
    with open(out) as messages:
        for line in messages:
            if line.startswith('{"type": "RECORD"') or line.startswith('{"type":"RECORD"'):
                records += 1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "records": records, "peak_rss_mb": round(peak, 1)}))


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    cat = sub.add_parser("catalog")
    cat.add_argument("path")
    run = sub.add_parser("sync")
    run.add_argument("--xero-url", required=True)
    run.add_argument("--config", required=True)
    run.add_argument("--catalog", required=True)
    run.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.command == "catalog":
        make_catalog(args.path)
    else:
        sync(args.xero_url, args.config, args.catalog, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
