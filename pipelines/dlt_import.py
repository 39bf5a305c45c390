"""Rows of flat tables written straight into dlt's load-file format, imported without normalize.

dlt's normalize step re-reads every extracted row in Python: it decodes the typed JSON, flattens
the row, coerces each value against the schema, adds ``_dlt_load_id`` and ``_dlt_id`` and writes
the row again (dlt 1.31, ``JsonLItemsNormalizer``). At 100,000 invoices it cost more CPU than
the whole extract. For a *flat* table whose columns are all declared (``invoice_versions``, the
finance tables), that work is known in advance, so the resource writes the rows exactly as
normalize would have written them and hands dlt the file with ``dlt.mark.with_file_import``:
dlt hard-links it into the load package and its normalizer imports it as it is (dlt docs,
"Resource" → "Import external files"; ``FileImportNormalizer``). The load is the same job as
before (DuckDB's ``INSERT … BY NAME SELECT * FROM read_json(file)``, then the same merge).

What a row holds, as normalize would write it (dlt 1.31, ``relational.DataItemNormalizer`` and
``JsonlWriter``):

- the values the parsers already produced, with the typed-JSON tag of amounts, dates and
  timestamps removed (:mod:`pipelines.dlt_values`: the tagged text *is* what dlt's writer
  prints for that ``Decimal``, ``date`` or aware ``datetime``: ``str(Decimal)``,
  ``isoformat()``);
- ``_dlt_load_id``: the package's load id (``dlt.current.load_package_state()``);
- ``_dlt_id``: a random id from dlt's own generator (``generate_dlt_ids``), as normalize gives
  the root rows of a table merged with ``delete-insert`` (``get_root_row_id_type`` →
  ``random``); the tables' hints carry dlt's own definitions of both columns
  (``dlt_id_column``, ``dlt_load_id_column``, stored as normalize stores them), so the schema
  is the one normalize infers.

A page whose raw answer contains one of the typed-JSON tag characters (a Xero text starting
with such a private-use character would be indistinguishable from a tagged value) is not
imported: its rows take dlt's normal path (:func:`page_has_tags`).

Rows are appended to one file per table and the file is handed over every
:data:`ROWS_PER_FILE` rows and when the resource finishes (:meth:`FileImport.flush`), so memory
does not grow with the read. Nested tables (``invoices__line_items``) keep dlt's normalizer.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import dlt
import orjson
from dlt.common.metrics import DataWriterMetrics
from dlt.common.normalizers.utils import generate_dlt_ids
from dlt.common.schema.utils import dlt_id_column, dlt_load_id_column
from dlt.extract.extractors import ImportFileMeta
from dlt.extract.items import DataItemWithMeta

from pipelines.dlt_values import DATE_TAG, DATETIME_TAG, DECIMAL_TAG, ENCODING

ROWS_PER_FILE = 20_000
"""Rows per imported file: few enough files that the hints they carry cost nothing, small
enough that DuckDB's ``read_json`` of one stays small."""

_TAGS = tuple(tag for tag in (DECIMAL_TAG, DATE_TAG, DATETIME_TAG) if tag)
_QUOTED_TAGS = tuple(b'"' + tag.encode() for tag in _TAGS)


def _escapes(tag: str) -> tuple[bytes, ...]:
    """The JSON escapes a sender may use for ``tag`` (``\\uf026`` in either case)."""
    code = f"{ord(tag):04x}"
    return (f"\\u{code}".encode(), f"\\u{code.upper()}".encode())


_RAW_TAGS = tuple(form for tag in _TAGS for form in (tag.encode(), *_escapes(tag)))

IMPORTING = ENCODING and bool(_TAGS)
"""Whether rows can be imported at all (dlt's typed-JSON tags were found at import)."""


_LEADS = tuple({form[:-1] for form in _RAW_TAGS})  # the tags share a prefix per form (U+F02x)


def page_has_tags(content: bytes) -> bool:
    """Whether a raw API answer holds a typed-JSON tag character, plain or escaped. Most
    answers hold none of the tags' shared prefixes, which costs one scan per prefix (a scan
    per tag and form was 8 % of the extract's CPU at 50,000 invoices)."""
    if not any(lead in content for lead in _LEADS):
        return False
    return any(tag in content for tag in _RAW_TAGS)


def import_hints(hints: Any) -> Any:
    """``hints`` (from ``dlt.mark.make_hints``) with dlt's own ``_dlt_load_id`` and
    ``_dlt_id`` columns declared, as normalize would add them."""
    columns = dict(hints["columns"])
    for column in (dlt_load_id_column(), dlt_id_column()):
        # as the normalizer stores them (dlt 1.31 ``relational``): name, type, keys; no
        # precision or description
        kept = {k: v for k, v in column.items() if k not in ("precision", "description")}
        columns.setdefault(column["name"], kept)
    # a variant is created from ``original_columns`` (dlt 1.31, ``DltResourceHints.merge_hints``)
    return {**hints, "columns": columns, "original_columns": columns}


def _destination_loads_jsonl() -> bool:
    """Whether the running pipeline's destination loads jsonl files (DuckDB does; dlt's
    PostgreSQL destination does not: there every row keeps dlt's normal path)."""
    try:
        destination = dlt.current.pipeline().destination
        return "jsonl" in destination.capabilities().supported_loader_file_formats
    except Exception:  # no pipeline or destination in this context: the safe path
        return False


def with_imports(read: Callable[[FileImport], Iterator[Any]]) -> Iterator[Any]:
    """What ``read(imports)`` yields, then the files still open; the files are removed after
    (dlt holds its own hard links by then), also when the read fails. ``imports.enabled``
    says whether rows may be imported at all in this run (:data:`IMPORTING` and a
    destination that loads jsonl)."""
    imports = FileImport(enabled=IMPORTING and _destination_loads_jsonl())
    try:
        yield from read(imports)
        yield from imports.flush()
    finally:
        imports.close()


class FileImport:
    """The open import files of one resource run: ``rows`` appends, and yields what is due."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._files: dict[str, tuple[IO[bytes], Path, int, Any]] = {}
        self._serial = 0
        self._declared: set[str] = set()

    def rows(self, rows: list[dict[str, Any]], hints: Any) -> Iterator[Any]:
        """Append ``rows`` to ``hints``' table; yields what dlt must see first (the table's
        declaration, once) and the file to import once it is full."""
        table = hints["table_name"]
        entry = self._files.get(table)
        if entry is None:
            if table not in self._declared:
                self._declared.add(table)
                # the table's own variant, with its full hints, before any file names it
                yield dlt.mark.with_hints([], import_hints(hints), create_table_variant=True)
            entry = self._open(table, hints)
        handle, path, count, _ = entry
        load_id = dlt.current.load_package_state()["load_id"]
        ids = generate_dlt_ids(len(rows))
        lines = []
        for row, row_id in zip(rows, ids, strict=True):
            row["_dlt_load_id"] = load_id
            row["_dlt_id"] = row_id
            lines.append(orjson.dumps(row))
        data = b"\n".join(lines) + b"\n"
        for tag in _QUOTED_TAGS:  # the tag only ever opens a string value (see page_has_tags)
            data = data.replace(tag, b'"')
        handle.write(data)
        self._files[table] = (handle, path, count + len(rows), entry[3])
        if count + len(rows) >= ROWS_PER_FILE:
            yield self._hand_over(table)

    def flush(self) -> Iterator[Any]:
        """The files still open, to import (at the end of the resource's read)."""
        for table in list(self._files):
            yield self._hand_over(table)

    def close(self) -> None:
        for handle, _path, _count, _hints in self._files.values():
            handle.close()
        self._files.clear()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def _open(self, table: str, hints: Any) -> tuple[IO[bytes], Path, int, Any]:
        if self._folder is None:
            # beside dlt's own files, so the import is a hard link rather than a copy
            base = Path(dlt.current.pipeline().working_dir)
            base.mkdir(parents=True, exist_ok=True)
            self._folder = tempfile.TemporaryDirectory(prefix="import-", dir=base)
        self._serial += 1
        path = Path(self._folder.name) / f"{table}.{self._serial}.jsonl"
        handle = open(path, "wb")  # noqa: SIM115 (closed on hand-over or by close())
        os.chmod(path, 0o600)
        return handle, path, 0, import_hints(hints)

    def _hand_over(self, table: str) -> Any:
        handle, path, count, hints = self._files.pop(table)
        handle.close()
        # The file must name its table. ``dlt.mark.with_file_import`` merges its hints into the
        # resource's own, and a table variant (``create_table_variant``) turns the item into
        # rows (dlt 1.31, ``Extractor.write_items``); so the file carries only the table's name
        # and write disposition (the resource's own hints hold no columns and are used for
        # nothing else: every row item names its variant), and the schema comes from the
        # variant declared in ``rows``.
        name_only = {"table_name": table, "write_disposition": hints["write_disposition"]}
        metrics = DataWriterMetrics(str(path), count, 0, 0, 0)
        return DataItemWithMeta(ImportFileMeta(str(path), metrics, "jsonl", name_only, False), None)
