"""Route a resource's pages of rows to their dlt tables, declaring each table's hints once.

dlt applies the hints carried by an item marked with ``dlt.mark.with_hints`` by merging them
into the resource and dropping its cached table schemas and contracts, which are recomputed
and validated for the next item (dlt 1.31, ``Extractor.write_items``). Marked on every page,
that was about a tenth of the extract's CPU. The first page of each table declares its hints
(a table variant of the resource); later pages name the table only
(``dlt.mark.with_table_name``), and dlt reuses the variant and its cached schema (dlt docs,
"Resource" → "Dispatch data to many tables"; "Performance": yield pages rather than rows).
"""

from __future__ import annotations

from typing import Any

import dlt


class TableRouter:
    """One per run of a resource: ``rows(page_rows, hints)`` is what the resource yields."""

    def __init__(self) -> None:
        self._declared: set[str] = set()

    def rows(self, rows: list[dict[str, Any]], hints: Any) -> Any:
        table = hints["table_name"]
        if table in self._declared:
            return dlt.mark.with_table_name(rows, table)
        self._declared.add(table)
        return dlt.mark.with_hints(rows, hints, create_table_variant=True)
