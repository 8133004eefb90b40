"""HQ's schema grows by named migrations: from every earlier version, on SQLite and
PostgreSQL, the rest apply once each and the result is the schema a new HQ gets."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hq.storage import MIGRATIONS, HqStorage, migrations, now_text


def schema(storage: HqStorage) -> dict[str, set[str]]:
    inspector = sa.inspect(storage.engine)
    return {table: {column["name"] for column in inspector.get_columns(table)}
            for table in inspector.get_table_names()}


@pytest.mark.parametrize("done", range(len(MIGRATIONS)))
def test_every_migration_applies_from_every_earlier_version(hq_db: str, done: int) -> None:
    storage = HqStorage(hq_db)
    try:
        with storage.write() as conn:
            migrations.create(conn)
            for name, step in MIGRATIONS[:done]:
                step(conn)
                conn.execute(migrations.insert().values(name=name, applied_at=now_text()))
        assert storage.migrate() == [name for name, _ in MIGRATIONS[done:]]
        assert storage.migrate() == []
        upgraded = schema(storage)
    finally:
        storage.dispose()
    assert set(upgraded) >= {"sessions", "reviews", "requests", "erasure_orders",
                             "request_erasures"}
    assert upgraded["request_erasures"] == {"request_id", "order_id"}
