"""Open the store a database setting names: a SQLite file (a path or ``sqlite:///path``, the
default) or a PostgreSQL server (``postgresql://user@host:port/dbname``)."""

from __future__ import annotations

from pathlib import Path

from pipeline.store.protocol import Store

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
SQLITE_SCHEME = "sqlite:///"


def is_postgres(database: str) -> bool:
    return database.startswith(POSTGRES_SCHEMES)


def sqlite_path(database: str) -> Path:
    """``sqlite:///data/x.sqlite3`` (relative), ``sqlite:////var/lib/x.sqlite3`` (absolute)
    or a plain path."""
    if database.startswith(SQLITE_SCHEME):
        return Path(database[len(SQLITE_SCHEME):])
    if "://" in database:
        raise ValueError(f"database {database.split('://')[0]}://… is not supported: use a "
                         "path, sqlite:///path or postgresql://user@host/dbname")
    return Path(database)


def describe(database: str) -> str:
    """The database as messages may name it: no password, a SQLite file by its absolute
    path (a relative one depends on the folder the command runs in)."""
    if is_postgres(database):
        from pipeline.store.postgres_store import redact

        return redact(database)
    return str(sqlite_path(database).absolute())


def open_store(database: str) -> Store:
    """The store for a database setting; PostgreSQL needs ``psycopg`` (a dependency)."""
    if is_postgres(database):
        from pipeline.store.postgres_store import PostgresStore

        return PostgresStore(database)
    from pipeline.store.sqlite_store import SqliteStore

    return SqliteStore(sqlite_path(database))
