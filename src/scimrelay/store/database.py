"""Engine and session factory for any SQLAlchemy URL, migrated on open."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from scimrelay.errors import ConfigurationError
from scimrelay.settings import Settings

# Pages the write-ahead log reaches before SQLite copies it into the database
# file (SQLite's default is 1,000). A request log batch with rows of many
# integrations changes index pages all over the file, and copying less often
# copies each such page once for many batches.
WAL_CHECKPOINT_PAGES = 10_000


def make_engine(settings: Settings) -> Engine:
    """Create the engine; SQLite gets WAL mode and a busy timeout."""
    url = settings.resolved_database_url
    if settings.uses_embedded_store:
        settings.data_dir.mkdir(parents=True, exist_ok=True)

    try:
        engine = create_engine(url, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError, ValueError) as error:
        raise ConfigurationError(
            f"SCIMRELAY_DATABASE_URL is invalid ({type(error).__name__}): use a "
            "SQLAlchemy URL such as postgresql+psycopg://user@host/db"
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    location = resources.files("scimrelay.store") / "migrations"
    config.set_main_option("script_location", str(location))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Apply every pending migration."""
    try:
        command.upgrade(alembic_config(engine), "heads")
    except SQLAlchemyError as error:
        raise ConfigurationError(
            f"the store at {engine.url.render_as_string(hide_password=True)} "
            f"cannot be migrated: {error.__class__.__name__}: {error.orig}"
            if hasattr(error, "orig")
            else f"the store cannot be migrated: {error}"
        ) from None


def is_current(engine: Engine) -> bool:
    """Return whether the database is at the newest migration."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        return set(context.get_current_heads()) == set(script.get_heads())


# The session of the innermost ``Store.transaction`` block, if any, and its store.
_transaction: ContextVar[tuple[Store, Session] | None] = ContextVar(
    "scimrelay_transaction", default=None
)


class Store:
    """The engine plus a session factory; one per process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Store:
        engine = make_engine(settings)
        if migrate:
            upgrade(engine)
        return cls(engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session that commits on success and rolls back on error.

        Inside a ``transaction`` block, yield that block's session instead, so
        the block commits or rolls back everything at once.
        """
        active = _transaction.get()
        if active is not None and active[0] is self:
            yield active[1]
            return

        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Run every ``session`` opened in this block in one transaction."""
        with self.session() as session:
            token = _transaction.set((self, session))
            try:
                yield session
            finally:
                _transaction.reset(token)

    def dispose(self) -> None:
        self.engine.dispose()
