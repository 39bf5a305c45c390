"""The two dlt steps a run with nothing new can leave out, and how it knows (issue 19).

A quiet hourly run extracts nothing, yet ``pipeline.run`` pays for every step anyway: it first
asks the warehouse for the stored pipeline state (``sync_destination``: the destination's
configuration resolved, a client opened, the state row read and decompressed), then normalizes
and loads an empty package. Measured on the demo books, those were about 0.3 s of each of the
three dlt runs of a quiet extract. They are left out only when provably nothing is lost:

- :func:`destination_state_current`: the warehouse's newest completed state for the pipeline
  is exactly the local one (same ``_state_version`` and ``_version_hash``) and every schema the
  state names is present locally. ``sync_destination`` would then restore nothing: dlt replaces
  the local state only when the stored one is newer or differs, and downloads only missing
  schemas (dlt 1.31, ``Pipeline._sync_destination``). A wiped state directory, a replaced or
  deleted warehouse, or a state stored by another run all fail the check, and the full
  ``sync_destination`` runs as before.
- :func:`discard_empty_packages`: the packages this extract wrote hold no job at all: no row of
  any table and no ``_dlt_pipeline_state`` row (dlt writes the state as a job of the package
  when, and only when, it changed). Normalizing and loading such a package would change
  nothing in the warehouse but append a ``_dlt_loads`` row; it is deleted instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import dlt

from pipelines.dataset_session import DatasetSession

_STORED_STATE = (
    "select s.version, s.version_hash from _dlt_pipeline_state s "
    "join _dlt_loads l on l.load_id = s._dlt_load_id "
    "where s.pipeline_name = ? and l.status = 0 order by l.load_id desc limit 1"
)


def destination_state_current(pipeline: dlt.Pipeline, session: DatasetSession) -> bool:
    """Whether ``sync_destination`` would restore nothing (see the module's docstring)."""
    if pipeline.first_run:
        return False
    state = pipeline.state
    stored = session.query(_STORED_STATE, pipeline.pipeline_name)
    if not stored:
        return False
    version, version_hash = stored[0]
    if version != state.get("_state_version") or version_hash != state.get("_version_hash"):
        return False
    return set(state.get("schema_names") or []) <= set(pipeline.schema_names)


def discard_empty_packages(pipeline: dlt.Pipeline, load_ids: Sequence[str]) -> bool:
    """Delete the extracted packages ``load_ids`` when none holds a job; whether it did."""
    if not load_ids:
        return True
    for load_id in load_ids:
        jobs = pipeline.get_load_package_info(load_id).jobs
        if any(jobs.get(state) for state in ("new_jobs", "started_jobs", "completed_jobs")):
            return False
    storage = pipeline._get_normalize_storage()  # dlt has no public call for this (1.31)
    for load_id in load_ids:
        storage.extracted_packages.delete_package(load_id)
    return True
