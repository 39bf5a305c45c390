"""The push path: the dbt nodes HubSpot's writes are computed from, read from the manifest.

The exposures of ``dbt_project/models/reverse_etl/_reverse_etl__exposures.yml`` name the tables
the push reads; their ancestors (models, seeds, sources) are the push path. A data test guards
the push when the node it is attached to is on the path (a generic test: ``attached_node``),
or when every node it reads is (a singular test). Every other test is an analyst's test: it
checks a mart nothing pushed depends on.

Why a failing analyst test cannot hold back the push: dbt's ``build`` skips the nodes
downstream of a failing test only when they descend from every node the test reads
(``add_test_edges`` in dbt-core's ``compilation.py``), and nothing downstream of an
analyst-only model is on the push path (else that model would be an ancestor of an exposure).
So :func:`reverse_etl.transform.run_transform` reports such failures (their failing rows stay
in ``dbt_test_failures``) and lets the push go on; a failure on the path still stops it.
``dbt_project/README.md`` ("Which tests run when") says the same for users.

Two forms of the manifest are read: dbt's ``Manifest`` object (what ``dbt parse`` returns
in-process, :func:`reverse_etl.transform.parsed_manifest`) and ``target/manifest.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DbtGraph:
    """What the push path needs of a manifest: each node's type, parents and attached node."""

    resource_types: Mapping[str, str]
    parents: Mapping[str, tuple[str, ...]]
    attached: Mapping[str, str | None]
    exposure_inputs: tuple[str, ...]

    @classmethod
    def of(cls, manifest: Any) -> DbtGraph:
        """From dbt's ``Manifest`` object or the JSON of ``manifest.json``."""
        if isinstance(manifest, Mapping):
            nodes: Iterable[tuple[str, Any]] = manifest["nodes"].items()
            exposures = manifest.get("exposures", {}).values()
            types = {uid: n["resource_type"] for uid, n in nodes}
            parents = {
                uid: tuple(n.get("depends_on", {}).get("nodes", []))
                for uid, n in manifest["nodes"].items()
            }
            attached = {uid: n.get("attached_node") for uid, n in manifest["nodes"].items()}
            inputs = tuple(d for e in exposures for d in e["depends_on"]["nodes"])
        else:
            types = {uid: str(n.resource_type) for uid, n in manifest.nodes.items()}
            parents = {
                uid: tuple(getattr(n.depends_on, "nodes", ())) for uid, n in manifest.nodes.items()
            }
            attached = {uid: getattr(n, "attached_node", None) for uid, n in manifest.nodes.items()}
            inputs = tuple(d for e in manifest.exposures.values() for d in e.depends_on.nodes)
        return cls(types, parents, attached, inputs)

    def push_path(self) -> frozenset[str]:
        """The exposures' inputs and all their ancestors."""
        seen: set[str] = set()
        stack = list(self.exposure_inputs)
        while stack:
            uid = stack.pop()
            if uid in seen:
                continue
            seen.add(uid)
            stack.extend(self.parents.get(uid, ()))
        return frozenset(seen)

    def guards_push(self, test_id: str, path: frozenset[str] | None = None) -> bool:
        """Whether the test checks a node on the push path (see the module docstring)."""
        path = self.push_path() if path is None else path
        attached = self.attached.get(test_id)
        if attached:
            return attached in path
        read = [p for p in self.parents.get(test_id, ()) if not p.startswith("macro.")]
        return bool(read) and all(p in path for p in read)

    def tests(self) -> list[str]:
        return [uid for uid, kind in self.resource_types.items() if kind == "test"]


def split_failures(
    manifest: Any, node_results: list[Any], failed: list[Any]
) -> tuple[list[Any], list[Any]]:
    """``failed`` (dbt node results) split into (tests of analyst-only marts, what stops the
    push); a node of the push path that dbt skipped stops it too. Without a manifest every
    failure stops the push."""
    if manifest is None or not failed:
        return [], failed
    graph = DbtGraph.of(manifest)
    path = graph.push_path()
    analysts = [
        r
        for r in failed
        if r.node.resource_type == "test" and not graph.guards_push(r.node.unique_id, path)
    ]
    if not analysts:
        return [], failed
    skipped = [r for r in node_results if str(r.status) == "skipped" and r.node.unique_id in path]
    return analysts, [r for r in failed if r not in analysts] + skipped
