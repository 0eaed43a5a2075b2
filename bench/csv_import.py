"""The W3 import: a generated CSV, chunks addressed by byte offset, and SQLite as the target.

Both job systems and the plain loop call the same ``import_chunk``, so the comparison measures
the job system around it, not the import code.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, name TEXT, email TEXT, amount REAL)"
)
BUSY_TIMEOUT_MS = 60_000
"""Concurrent chunk jobs queue on SQLite's single writer lock instead of failing."""


@dataclass(frozen=True)
class Chunk:
    """``rows`` lines of the CSV starting at byte ``offset`` (what a job payload carries)."""

    offset: int
    rows: int


def generate_csv(path: Path, rows: int, chunk_rows: int) -> list[Chunk]:
    """Write ``id,name,email,amount`` rows (once per size) and return the chunk offsets."""
    index = path.with_suffix(".chunks.json")
    if path.exists() and index.exists():
        saved = json.loads(index.read_text())
        if saved["rows"] == rows and saved["chunk_rows"] == chunk_rows:
            return [Chunk(**c) for c in saved["chunks"]]
    chunks: list[Chunk] = []
    with path.open("wb") as out:
        out.write(b"id,name,email,amount\n")
        for start in range(0, rows, chunk_rows):
            count = min(chunk_rows, rows - start)
            chunks.append(Chunk(offset=out.tell(), rows=count))
            buffer = io.StringIO()
            for i in range(start, start + count):
                buffer.write(f"{i},user {i},user{i}@example.com,{(i * 37) % 10_000 / 100:.2f}\n")
            out.write(buffer.getvalue().encode())
    index.write_text(
        json.dumps(
            {
                "rows": rows,
                "chunk_rows": chunk_rows,
                "chunks": [{"offset": c.offset, "rows": c.rows} for c in chunks],
            }
        )
    )
    return chunks


def connect_db(db: str) -> sqlite3.Connection:
    """A connection in WAL mode that waits for the writer lock."""
    connection = sqlite3.connect(db, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def prepare_db(db: Path) -> None:
    """A fresh, empty target database."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    connection = connect_db(str(db))
    try:
        connection.execute(SCHEMA)
    finally:
        connection.close()


def import_chunk(csv_path: str, offset: int, rows: int, db: str) -> int:
    """Read ``rows`` lines at ``offset`` and upsert them in one transaction; idempotent."""
    with open(csv_path, "rb") as source:
        source.seek(offset)
        lines = [source.readline().decode() for _ in range(rows)]
    parsed = [(int(r[0]), r[1], r[2], float(r[3])) for r in csv.reader(lines)]
    connection = connect_db(db)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany("INSERT OR REPLACE INTO rows VALUES (?, ?, ?, ?)", parsed)
        connection.execute("COMMIT")
    finally:
        connection.close()
    return len(parsed)


def count_rows(db: str) -> int:
    """Rows in the target table."""
    connection = connect_db(db)
    try:
        return int(connection.execute("SELECT COUNT(*) FROM rows").fetchone()[0])
    finally:
        connection.close()


def plain_import(csv_path: Path, chunks: list[Chunk], db: Path) -> int:
    """The baseline: the same chunks, one after another, in this process, no job system."""
    return sum(import_chunk(str(csv_path), c.offset, c.rows, str(db)) for c in chunks)
