"""Alembic builds the schema from empty, and it matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from reserve_service import migrate
from reserve_service.db import make_engine
from reserve_service.metadata import target_metadata


def test_models_and_migrations_agree(database_url):
    engine = make_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, target_metadata)
    engine.dispose()
    assert diff == [], f"models differ from migrations; add a revision: {diff}"


def test_upgrade_from_empty_and_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        tables = set(conn.dialect.get_table_names(conn))
    assert set(target_metadata.tables) <= tables
    engine.dispose()
    migrate.downgrade(url, "base")
    engine = make_engine(url)
    with engine.connect() as conn:
        assert set(conn.dialect.get_table_names(conn)) == {"alembic_version"}
    engine.dispose()
