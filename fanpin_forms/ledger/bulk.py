"""Many new rows into one table in as few round trips as the database allows.

SQLite: ``executemany`` (one prepared statement run in C for every row), with RETURNING
where the new ids are wanted. PostgreSQL: ``COPY … FROM STDIN`` through psycopg, one
stream per table, inside the caller's transaction; when the ids are wanted they are
taken from the table's sequence first (one query), so the rows go in with their ids.
(SQLAlchemy's executemany on psycopg sends one INSERT per row, pipelined, and its
multi-VALUES form makes psycopg parse a statement of thousands of placeholders in
Python for every batch: both cost more than the whole rest of an import.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection


def insert_rows(conn: Connection, model, rows: Sequence[dict[str, Any]], *, ids: bool = False) -> list[int]:
    """Insert ``rows`` (dicts of column → value, all with the same keys) into ``model``'s table;
    the new ids in the order of ``rows`` when ``ids``, else []."""
    if not rows:
        return []
    if conn.dialect.name != "postgresql":
        if ids:
            stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
            return list(conn.execute(stmt, list(rows)).scalars())
        conn.execute(insert(model), list(rows))
        return []
    table = model.__table__
    columns = list(rows[0])
    new_ids: list[int] = []
    if ids:
        seq = conn.exec_driver_sql("SELECT pg_get_serial_sequence(%s, 'id')", (table.name,)).scalar_one()
        new_ids = list(conn.exec_driver_sql("SELECT nextval(%s) FROM generate_series(1, %s)", (seq, len(rows)))
                       .scalars())
        columns = ["id", *columns]
    raw = conn.connection.driver_connection  # psycopg's connection, in this transaction
    names = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        if ids:
            for i, row in zip(new_ids, rows):
                copy.write_row((i, *(row[c] for c in columns[1:])))
        else:
            for row in rows:
                copy.write_row(tuple(row[c] for c in columns))
    return new_ids


__all__ = ["insert_rows"]
