"""The SQLite connection settings that the relay's store applies."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from scimrelay.settings import Settings
from scimrelay.store.database import WAL_CHECKPOINT_PAGES, Store


def test_sqlite_store_checkpoints_less_often(tmp_path: Path) -> None:
    store = Store.open(Settings.from_env({"SCIMRELAY_DATA_DIR": str(tmp_path)}))
    try:
        with store.engine.connect() as connection:
            mode = connection.execute(text("PRAGMA journal_mode")).scalar()
            pages = connection.execute(text("PRAGMA wal_autocheckpoint")).scalar()
    finally:
        store.dispose()

    assert mode == "wal"
    assert pages == WAL_CHECKPOINT_PAGES
