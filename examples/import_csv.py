"""Import a 1,000,000-row CSV into SQLite as one batch of chunk jobs, with a progress bar.

The payloads carry byte offsets into the file, never rows, so no payload grows with the data.
Each chunk job inserts its rows idempotently (``INSERT OR REPLACE`` on the id) and heartbeats
how far it got, so an attempt after a worker crash resumes from its checkpoint.

    python -m examples.import_csv    # against a running `jobmodule dev --queue default,imports`
"""

from __future__ import annotations

import asyncio
import csv
import io
import random
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from temporalio.client import Client

from jobmodule import Bus, Job, connect, set_default_client

ROWS = 1_000_000
CHUNK_ROWS = 5_000
COMMIT_EVERY = 1_000
DATA_DIR = Path(".jobmodule") / "import"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT, email TEXT, amount REAL)"
)


def generate_csv(path: Path, rows: int = ROWS, *, seed: int = 42) -> Path:
    """Write ``rows`` rows of id,name,email,amount (deterministic for a seed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    with path.open("w", newline="") as out:
        out.write("id,name,email,amount\n")
        for start in range(0, rows, 10_000):
            block = io.StringIO()
            writer = csv.writer(block)
            for i in range(start, min(start + 10_000, rows)):
                writer.writerow(
                    (i, f"user{i}", f"user{i}@example.com", rng.randint(0, 99_999) / 100)
                )
            out.write(block.getvalue())
    return path


def chunk_offsets(path: Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[tuple[int, int]]:
    """``(byte_offset, rows)`` of each chunk, found by one pass over the file."""
    with path.open("rb") as source:
        source.readline()  # header
        offset, count = source.tell(), 0
        for _line in iter(source.readline, b""):
            count += 1
            if count == chunk_rows:
                yield offset, count
                offset, count = source.tell(), 0
        if count:
            yield offset, count


WRITE_LOCKS: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)


def connect_db(db: Path) -> sqlite3.Connection:
    """A connection that waits for the write lock instead of failing."""
    connection = sqlite3.connect(db, timeout=120)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(SCHEMA)
    return connection


def parse_rows(
    path: str, offset: int, rows: int, skip: int = 0
) -> list[tuple[int, str, str, float]]:
    """Rows ``skip..rows`` of the chunk starting at byte ``offset``."""
    with open(path, newline="") as source:
        source.seek(offset)
        reader = csv.reader(source)
        parsed = []
        for index, row in enumerate(reader):
            if index >= rows:
                break
            if index >= skip:
                parsed.append((int(row[0]), row[1], row[2], float(row[3])))
    return parsed


class ImportCsvChunk(Job):
    """Import one chunk of the CSV: rows ``[offset, offset + rows)`` by byte offset."""

    path: str
    db: str
    offset: int
    rows: int
    queue = "imports"
    tries = 3
    backoff = [1, 5]
    timeout = 300
    heartbeat_timeout = 30

    def handle(self) -> int:
        done = int(self.checkpoint() or 0)  # resume after a crash
        parsed = parse_rows(self.path, self.offset, self.rows, skip=done)
        # SQLite has one writer at a time; queue this process's writers on a lock rather than
        # on SQLite's busy handler, which sleeps and polls.
        with WRITE_LOCKS[self.db], connect_db(Path(self.db)) as connection:
            for start in range(0, len(parsed), COMMIT_EVERY):
                connection.executemany(
                    "INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?)",
                    parsed[start : start + COMMIT_EVERY],
                )
                connection.commit()
                self.heartbeat(done + start + COMMIT_EVERY)
        return len(parsed)


class ImportFinished(Job):
    """The batch's then-callback: check the row count."""

    db: str
    expected: int
    queue = "imports"

    def handle(self) -> int:
        with connect_db(Path(self.db)) as connection:
            (count,) = connection.execute("SELECT COUNT(*) FROM users").fetchone()
        if count != self.expected:
            raise RuntimeError(f"imported {count} rows, expected {self.expected}")
        return int(count)


def plain_import(path: Path, db: Path) -> int:
    """The same import in one process with no job system: the yardstick for the bench."""
    total = 0
    with connect_db(db) as connection:
        for offset, rows in chunk_offsets(path):
            parsed = parse_rows(str(path), offset, rows)
            connection.executemany("INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?)", parsed)
            connection.commit()
            total += len(parsed)
    return total


async def main(client: Client | None = None, *, rows: int = ROWS, progress: bool = True) -> float:
    """Generate the CSV if needed, import it as a batch, and return rows per second."""
    client = client or await connect()
    set_default_client(client)
    csv_path = DATA_DIR / f"users-{rows}.csv"
    if not csv_path.exists():
        started = time.perf_counter()
        generate_csv(csv_path, rows)
        print(f"generated {csv_path} ({rows:,} rows) in {time.perf_counter() - started:.1f}s")
    db = DATA_DIR / "users.db"
    db.unlink(missing_ok=True)
    started = time.perf_counter()
    chunks = (
        ImportCsvChunk(path=str(csv_path), db=str(db), offset=offset, rows=count)
        for offset, count in chunk_offsets(csv_path)
    )
    batch = await (
        Bus.batch(chunks)
        .then(ImportFinished(db=str(db), expected=rows))
        .name("users import")
        .tune(group_concurrency=2)
    ).dispatch()
    final = await batch.wait(progress=progress)
    elapsed = time.perf_counter() - started
    rate = rows / elapsed
    state = "done" if not final.has_failures else f"{final.failed_jobs} chunk(s) failed"
    print(f"import {state}: {rows:,} rows in {elapsed:.1f}s ({rate:,.0f} rows/s), batch {batch.id}")
    return rate


if __name__ == "__main__":
    asyncio.run(main())
