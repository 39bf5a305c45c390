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
does not grow with the read.

The invoices' line items, dlt's nested table ``invoices__line_items``, are written the same
way with the ids normalize gives a nested row (:func:`_nested_lines`), declared through the
invoices variant's ``nested_hints`` with dlt's columns of a nested table
(:data:`_NESTED_COLUMNS`), and moved into the package being extracted (see the section
"nested tables' files" below for why). With normalize gone for every big table, the backfill's
normalize step fell from 10.5 s to 0.3 s at 100,000 invoices.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import dlt
import orjson
from dlt.common.configuration.container import Container
from dlt.common.metrics import DataWriterMetrics
from dlt.common.normalizers.json.helpers import get_nested_row_hash
from dlt.common.normalizers.utils import generate_dlt_ids
from dlt.common.schema.utils import dlt_id_column, dlt_load_id_column
from dlt.common.storages.load_package import (
    LoadPackageStateInjectableContext,
    ParsedLoadJobFileName,
)
from dlt.common.utils import uniq_id
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


def _stored(column: Any) -> dict[str, Any]:
    # as the normalizer stores dlt's columns (dlt 1.31 ``relational``): name, type, keys; no
    # precision or description
    return {k: v for k, v in column.items() if k not in ("precision", "description")}


# dlt's columns of a nested table, as normalize stores them (dlt 1.31 ``relational``: the
# schema's ``root_key``, ``parent_key``, ``not_null`` and ``row_key`` hints on the names of
# ``DataItemNormalizer``; ``_dlt_list_idx`` inferred from its int values)
_NESTED_COLUMNS: dict[str, dict[str, Any]] = {
    "_dlt_root_id": {
        "name": "_dlt_root_id",
        "data_type": "text",
        "nullable": False,
        "root_key": True,
    },
    "_dlt_parent_id": {
        "name": "_dlt_parent_id",
        "data_type": "text",
        "nullable": False,
        "parent_key": True,
    },
    "_dlt_list_idx": {"name": "_dlt_list_idx", "data_type": "bigint", "nullable": False},
    "_dlt_id": _stored(dlt_id_column()),
}


def import_hints(hints: Any) -> Any:
    """``hints`` (from ``dlt.mark.make_hints``) with dlt's own ``_dlt_load_id`` and
    ``_dlt_id`` columns declared, as normalize would add them; and a nested table's
    (``nested_hints``) with its ``_dlt_root_id``, ``_dlt_parent_id``, ``_dlt_list_idx`` and
    ``_dlt_id``."""
    columns = dict(hints["columns"])
    for column in (dlt_load_id_column(), dlt_id_column()):
        columns.setdefault(column["name"], _stored(column))
    out = {**hints, "columns": columns, "original_columns": columns}
    nested = hints.get("nested_hints")
    if nested:
        out["nested_hints"] = {
            path: {**child, "columns": {**child.get("columns", {}), **_NESTED_COLUMNS}}
            for path, child in nested.items()
        }
    # a variant is created from ``original_columns`` (dlt 1.31, ``DltResourceHints.merge_hints``)
    return out


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
        self._nested: dict[str, tuple[IO[bytes], Path, int, Any]] = {}

    def rows(
        self, rows: list[dict[str, Any]], hints: Any, nested: str | None = None
    ) -> Iterator[Any]:
        """Append ``rows`` to ``hints``' table; yields what dlt must see first (the table's
        declaration, once) and the file to import once it is full. ``nested``: the key of a
        list in each row that is dlt's nested table ``<table>__<nested>`` (declared in
        ``hints``' ``nested_hints``): its items become that table's rows, with the ids
        normalize would give them (:func:`_nested_lines`), in files moved into the package
        being extracted (:func:`_attach`)."""
        table = hints["table_name"]
        if table not in self._declared:
            self._declared.add(table)
            # the table's own variant, with its full hints, before any file names it (dlt
            # computes its nested table from the variant's ``nested_hints``)
            yield dlt.mark.with_hints([], import_hints(hints), create_table_variant=True)
        load_id = dlt.current.load_package_state()["load_id"]
        ids = generate_dlt_ids(len(rows))
        lines, children = [], []
        child = f"{table}__{nested}" if nested else ""
        for row, row_id in zip(rows, ids, strict=True):
            if nested:
                items = row.pop(nested, None)
                if items:
                    children += _nested_lines(items, row_id, child)
            row["_dlt_load_id"] = load_id
            row["_dlt_id"] = row_id
            lines.append(orjson.dumps(row))
        yield from self._write(table, lines, hints)
        if children:
            self._write_nested(child, children, load_id)

    def _write(self, table: str, lines: list[bytes], hints: Any) -> Iterator[Any]:
        entry = self._files.get(table) or self._open(table, hints)
        handle, path, count, _ = entry
        handle.write(_untagged(lines))
        self._files[table] = (handle, path, count + len(lines), entry[3])
        if count + len(lines) >= ROWS_PER_FILE:
            yield self._hand_over(table)

    def _write_nested(self, table: str, lines: list[bytes], load_id: str) -> None:
        """Append a nested table's rows to its file, named as dlt names a job file of
        ``table``; every :data:`ROWS_PER_FILE` rows (and at :meth:`flush`) the file joins the
        package being extracted (:func:`_attach`)."""
        entry = self._nested.get(table)
        if entry is None:
            name = ParsedLoadJobFileName(table, uniq_id(10), 0, "jsonl").file_name()
            path = self._folder_path() / name
            entry = (open(path, "wb"), path, 0, load_id)  # noqa: SIM115 (closed below or by close())
            os.chmod(path, 0o600)
        handle, path, count, _ = entry
        handle.write(_untagged(lines))
        count += len(lines)
        self._nested[table] = (handle, path, count, load_id)
        if count >= ROWS_PER_FILE:
            self._attach(table)

    def _attach(self, table: str) -> None:
        handle, path, _count, load_id = self._nested.pop(table)
        handle.close()
        _attach(load_id, path)

    def flush(self) -> Iterator[Any]:
        """The files still open, to import (at the end of the resource's read)."""
        for table in list(self._files):
            yield self._hand_over(table)
        for table in list(self._nested):
            self._attach(table)

    def close(self) -> None:
        for handle, _path, _count, _hints in [*self._files.values(), *self._nested.values()]:
            handle.close()
        self._files.clear()
        self._nested.clear()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def _folder_path(self) -> Path:
        if self._folder is None:
            # beside dlt's own files, so the import is a hard link (or a rename) rather than
            # a copy
            base = Path(dlt.current.pipeline().working_dir)
            base.mkdir(parents=True, exist_ok=True)
            self._folder = tempfile.TemporaryDirectory(prefix="import-", dir=base)
        return Path(self._folder.name)

    def _open(self, table: str, hints: Any) -> tuple[IO[bytes], Path, int, Any]:
        self._serial += 1
        path = self._folder_path() / f"{table}.{self._serial}.jsonl"
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


def _untagged(lines: list[bytes]) -> bytes:
    data = b"\n".join(lines) + b"\n"
    for tag in _QUOTED_TAGS:  # the tag only ever opens a string value (see page_has_tags)
        data = data.replace(tag, b'"')
    return data


def _nested_lines(items: list[dict[str, Any]], row_id: str, table: str) -> list[bytes]:
    """The rows of nested ``table`` under the root row ``row_id``, as normalize writes them
    (dlt 1.31 ``relational.DataItemNormalizer``): ``_dlt_parent_id`` and ``_dlt_root_id`` the
    root row's id (a merge table propagates it), ``_dlt_list_idx`` the position in the list
    and ``_dlt_id`` dlt's hash of the three (``get_nested_row_hash``)."""
    lines = []
    for index, item in enumerate(items):
        item["_dlt_root_id"] = row_id
        item["_dlt_parent_id"] = row_id
        item["_dlt_list_idx"] = index
        item["_dlt_id"] = get_nested_row_hash(row_id, table, index)
        lines.append(orjson.dumps(item))
    return lines


# -- nested tables' files ---------------------------------------------------------------------
# A nested table's file cannot be handed to dlt's extract like a flat table's: the extract
# refuses a nested table that names a resource and counts every extracted file under its
# table's resource (dlt 1.31, ``merge_table``, ``Extract._compute_metrics``). So the file is
# moved straight into the package being extracted (``PackageStorage.import_job`` on the
# package storage of dlt's load package context, the one ``dlt.current.load_package_state``
# reads): it is committed with the package or dropped with it when the extract fails, and
# normalize imports a ``.jsonl`` job as it is, like a flat table's (``FileImportNormalizer``:
# the job's file format is a loader format). The table's schema is the variant's
# ``nested_hints`` (:func:`import_hints`).


def _attach(load_id: str, path: Path) -> None:
    context = Container()[LoadPackageStateInjectableContext]
    if context.load_id != load_id:  # never happens within one resource run; checked anyway
        raise RuntimeError(f"{path.name} belongs to package {load_id}, not {context.load_id}")
    context.storage.import_job(load_id, str(path))
