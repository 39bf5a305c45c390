"""dbt's JSON schemas on disk (reverse_etl/core/dbt_schema_cache.py): a process that finds the
file serves dbt's validation the same schemas without building them, dbt still rejects what
they reject, and a missing or broken file means building as dbt does."""

from __future__ import annotations

import json
from pathlib import Path

import dbt.cli.main  # noqa: F401 - dbt first: dbt_common's modules alone import circularly
import dbt_common.dataclass_schema as dataclass_schema
import pytest
from dbt.contracts.graph.unparsed import UnparsedExposure
from dbt_common.dataclass_schema import ValidationError, dbtClassMixin
from mashumaro.jsonschema import build_json_schema

from reverse_etl.core import dbt_schema_cache

NAME = "dbt.contracts.graph.unparsed.UnparsedExposure"
VALID = {"name": "crm", "type": "application", "owner": {"email": "a@example.com"}}


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch):
    """The cache and dbt's ``json_schema`` as a fresh process has them (nothing installed,
    loaded or built): the returned function starts such a process again. All put back after."""
    original = dbtClassMixin.__dict__["json_schema"]
    while getattr(original.__func__, "__wrapped__", None) is not None and not hasattr(
        original.__func__, "cache_clear"
    ):  # this process's invocations may have installed the cache already
        original = classmethod(original.__func__.__wrapped__)

    def restart() -> None:
        monkeypatch.setattr(dbtClassMixin, "json_schema", original)
        original.__func__.cache_clear()  # dbt's per-process cache of built schemas
        monkeypatch.setattr(dbt_schema_cache, "_installed_dir", None)
        monkeypatch.setattr(dbt_schema_cache, "_schemas", {})
        monkeypatch.setattr(dbt_schema_cache, "_loaded_count", 0)

    restart()
    return restart


def test_a_second_process_validates_with_the_saved_schema_without_building(
    tmp_path: Path, fresh_process, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = json.loads(json.dumps(build_json_schema(UnparsedExposure).to_dict()))

    dbt_schema_cache.install(tmp_path)
    UnparsedExposure.validate(VALID)
    dbt_schema_cache.save()
    saved = json.loads(dbt_schema_cache.cache_file(tmp_path).read_text(encoding="utf-8"))
    assert saved[NAME] == built

    fresh_process()
    dbt_schema_cache.install(tmp_path)

    def no_build(cls: type) -> None:
        raise AssertionError(f"built {cls.__name__} although the file holds it")

    monkeypatch.setattr(dataclass_schema, "build_json_schema", no_build)
    assert UnparsedExposure.json_schema() == built
    UnparsedExposure.validate(VALID)
    with pytest.raises(ValidationError):
        UnparsedExposure.validate({**VALID, "type": "not-a-type"})
    with pytest.raises(ValidationError):
        UnparsedExposure.validate({"type": "application"})  # no name, no owner


def test_a_broken_file_means_building_as_dbt_does(tmp_path: Path, fresh_process) -> None:
    dbt_schema_cache.cache_file(tmp_path).write_text("{not json", encoding="utf-8")
    dbt_schema_cache.install(tmp_path)
    assert UnparsedExposure.json_schema() == build_json_schema(UnparsedExposure).to_dict()
    with pytest.raises(ValidationError):
        UnparsedExposure.validate({**VALID, "type": "not-a-type"})
    dbt_schema_cache.save()
    saved = json.loads(dbt_schema_cache.cache_file(tmp_path).read_text(encoding="utf-8"))
    assert NAME in saved
