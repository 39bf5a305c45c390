"""dbt's JSON schemas kept on disk between processes, so a fresh process does not rebuild them.

dbt validates every node, config and the project against a JSON schema of its dataclass
(``dbt_common.dataclass_schema.dbtClassMixin.validate``), which mashumaro builds from the class
definition the first time a class is validated in a process (``json_schema``, cached per class
with ``functools.lru_cache``). A fresh process parsing this project builds 24 of them: 1.1 of the
3.9 CPU-s of ``dbt parse`` (measured by timing ``json_schema``; py-spy showed the same 11-14 %
under ``dbtClassMixin.validate``), more than parsing all 46 models. Partial parsing avoids
that parse only while the project and the vars are unchanged (``parse_placeholder`` in
:mod:`reverse_etl.core.dbt_invocation` keeps the warehouse's path out of it); a fresh clone, a
changed project or other vars parse in full, and nothing in the project makes these schemas
cheaper: they are a pure function of the installed dbt, adapters and mashumaro, so they are
stored once per set of versions and read back (~10 ms) by the next
process. The validation itself is unchanged: same schema, same ``jsonschema`` validator.

A schema is cached only for a class named by module and qualified name (a class made inside a
function is built as before), and the file is keyed by the versions of every package that
defines or shapes the classes and by Python's. A missing, unreadable or stale file only means
building as dbt does; writing is atomic and best effort.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import tempfile
import threading
from importlib import metadata
from pathlib import Path
from typing import Any

# What the schemas depend on: the classes' definitions (dbt-core, dbt-common, the adapters) and
# the schema builder (mashumaro).
_PACKAGES = (
    "dbt-core",
    "dbt-common",
    "dbt-adapters",
    "dbt-duckdb",
    "dbt-postgres",
    "mashumaro",
    "jsonschema",
)

_LOCK = threading.Lock()
_installed_dir: Path | None = None
_schemas: dict[str, Any] = {}
_loaded_count = 0


def _versions_key() -> str:
    parts = [sys.version]
    for name in _PACKAGES:
        try:
            parts.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} absent")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def cache_file(directory: Path) -> Path:
    """The file holding the schemas for the installed versions, in ``directory``."""
    return directory / f"dbt_json_schemas-{_versions_key()}.json"


def install(directory: Path) -> None:
    """Serve ``dbtClassMixin.json_schema`` from ``directory``'s file (loaded now) and build
    what it lacks as dbt does; idempotent (the first directory is kept)."""
    global _installed_dir, _loaded_count
    import dbt.cli.main  # noqa: F401 - dbt first: dbt_common's modules alone import circularly

    try:
        from dbt_common.dataclass_schema import dbtClassMixin  # dbt: seconds to import
    except ImportError:  # a dbt without this module: nothing to serve, dbt builds as it does
        return

    with _LOCK:
        if _installed_dir is not None:
            return
        try:
            loaded = json.loads(cache_file(directory).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            loaded = {}
        if isinstance(loaded, dict):
            _schemas.update(loaded)
        _loaded_count = len(_schemas)
        build = getattr(dbtClassMixin.json_schema, "__func__", None)  # lru-cached, per class
        if build is None:  # a dbt whose classes build schemas differently: build as dbt does
            return

        @functools.wraps(build)
        def json_schema(cls: type) -> Any:
            name = f"{cls.__module__}.{cls.__qualname__}"
            cached = _schemas.get(name)
            if cached is not None:
                return cached
            schema = build(cls)
            if "<locals>" not in name:
                with _LOCK:
                    _schemas[name] = schema
            return schema

        dbtClassMixin.json_schema = classmethod(json_schema)
        _installed_dir = directory


def save() -> None:
    """Write the schemas to the file when this process built some it lacked (atomic: a
    concurrent reader sees the old file or the new one)."""
    global _loaded_count
    with _LOCK:
        if _installed_dir is None or len(_schemas) == _loaded_count:
            return
        target = cache_file(_installed_dir)
        temporary = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(_schemas, out)
            os.replace(temporary, target)
        except (OSError, TypeError, ValueError):  # not writable, or a schema not plain JSON
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)
            return
        _loaded_count = len(_schemas)
