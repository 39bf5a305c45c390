import pytest

from reverse_etl.core.errors import LockBusyError
from reverse_etl.core.lock import lock_path_for, sync_lock


def test_second_holder_is_refused_with_who_holds_it(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with sync_lock(warehouse, purpose="hourly sync"):
        with pytest.raises(LockBusyError) as excinfo, sync_lock(warehouse):
            pass
        assert "hourly sync" in str(excinfo.value)
        assert "pid" in str(excinfo.value)


def test_lock_is_released_after_the_block_and_after_an_error(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with pytest.raises(RuntimeError), sync_lock(warehouse):
        raise RuntimeError("stage failed")
    with sync_lock(warehouse):
        pass
    assert lock_path_for(warehouse).exists()
