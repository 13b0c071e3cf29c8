"""The local backend's state in SQLite: every SQL statement of the server lives here.

WAL journal, one connection per thread, and ``BEGIN IMMEDIATE`` for every write, so the
API's event loop, the dispatcher and the webhook threads can share the file safely.
Worker processes never open the database: they report back to the dispatcher.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nexspec.payload import JsonObject
from nexspec.protocol import CANCELLABLE_STATES, JobState
from nexspec.server.records import (
    ACTIVE_STATES,
    IN_FLIGHT_STATES,
    BatchRecord,
    FontRecord,
    JobKind,
    JobQuery,
    JobRecord,
    SecretRecord,
    TemplateRecord,
)
from nexspec.templateinfo import TemplateInfo

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS templates (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, display_name TEXT NOT NULL,
    status TEXT NOT NULL, error TEXT, src TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    upload_id TEXT, upload_issued INTEGER, blob TEXT, size INTEGER, info TEXT
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, template_id TEXT, parent_id TEXT,
    batch_id TEXT, batch_index INTEGER, status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0, priority INTEGER NOT NULL DEFAULT 0,
    payload TEXT NOT NULL, output TEXT NOT NULL, tags TEXT NOT NULL,
    missing_fonts TEXT NOT NULL, total_assets INTEGER NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    started_at TEXT, finished_at TEXT, error_at TEXT, render_duration REAL, error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, priority DESC, id);
CREATE INDEX IF NOT EXISTS jobs_by_parent ON jobs (parent_id);
CREATE INDEX IF NOT EXISTS jobs_by_batch ON jobs (batch_id, batch_index);
CREATE INDEX IF NOT EXISTS jobs_by_template ON jobs (template_id, status);
CREATE TABLE IF NOT EXISTS job_tags (
    tag TEXT NOT NULL, job_id TEXT NOT NULL, PRIMARY KEY (tag, job_id)
);
CREATE TABLE IF NOT EXISTS job_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS job_log_by_job ON job_log (job_id, seq);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, attempt INTEGER NOT NULL,
    at TEXT NOT NULL, outcome TEXT NOT NULL, ok INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS fonts (
    id TEXT PRIMARY KEY, family_name TEXT NOT NULL, file_name TEXT NOT NULL,
    created_at TEXT NOT NULL, blob TEXT NOT NULL, size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS secrets (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, value TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, total INTEGER NOT NULL);
"""
_TEMPLATE_COLUMNS = frozenset(
    {"display_name", "status", "error", "updated_at", "upload_id", "upload_issued", "blob",
     "size", "info"}
)  # fmt: skip
_JOB_COLUMNS = frozenset(
    {"status", "progress", "updated_at", "started_at", "finished_at", "error_at",
     "render_duration", "error"}
)  # fmt: skip
_SORTS = {
    "oldest_first": "id ASC",
    "newest_first": "id DESC",
    "priority": "priority DESC, id ASC",
    "random": "RANDOM()",
}


class DuplicateName(Exception):
    """A secret with this name exists already."""


class Store:
    """The database at ``path``; safe to use from any thread of the server process."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._create_schema()

    # --- connections -------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=15000")
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    def _create_schema(self) -> None:
        db = self._connection()
        db.executescript(_SCHEMA)
        db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self._connection().execute(sql, args).fetchall()

    def _row(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._connection().execute(sql, args).fetchone()
        return row

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                db.close()
            self._all.clear()

    # --- templates ---------------------------------------------------------------------------

    def insert_template(self, record: TemplateRecord) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO templates (id, type, display_name, status, error, src, created_at,"
                " updated_at, upload_id, upload_issued, blob, size, info)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.id, record.type, record.display_name, record.status, record.error,
                 record.src, record.created_at, record.updated_at, record.upload_id,
                 record.upload_issued, record.blob, record.size, _info_json(record.info)),
            )  # fmt: skip

    def get_template(self, template_id: str) -> TemplateRecord | None:
        row = self._row("SELECT * FROM templates WHERE id = ?", (template_id,))
        return _template(row) if row else None

    def list_templates(self) -> list[TemplateRecord]:
        return [_template(row) for row in self._rows("SELECT * FROM templates ORDER BY id")]

    def templates_in(self, states: Iterable[str]) -> list[TemplateRecord]:
        marks, values = _in(states)
        rows = self._rows(f"SELECT * FROM templates WHERE status IN ({marks}) ORDER BY id", values)
        return [_template(row) for row in rows]

    def update_template(self, template_id: str, *, only_blob: str | None = None, **fields: Any) -> bool:
        """Set ``fields``; with ``only_blob``, only while that file is still the template's."""
        assert fields.keys() <= _TEMPLATE_COLUMNS, fields.keys() - _TEMPLATE_COLUMNS
        if "info" in fields:
            fields["info"] = _info_json(fields["info"])
        sets = ", ".join(f"{name} = ?" for name in fields)
        sql, args = f"UPDATE templates SET {sets} WHERE id = ?", [*fields.values(), template_id]
        if only_blob is not None:
            sql, args = sql + " AND blob = ?", [*args, only_blob]
        with self._write() as db:
            return db.execute(sql, args).rowcount > 0

    def delete_template(self, template_id: str) -> bool:
        """Delete unless an active job uses it; ``False`` when one does."""
        marks, states = _in(ACTIVE_STATES)
        with self._write() as db:
            busy = db.execute(
                f"SELECT 1 FROM jobs WHERE template_id = ? AND status IN ({marks}) LIMIT 1",
                (template_id, *states),
            ).fetchone()
            if busy:
                return False
            db.execute("DELETE FROM templates WHERE id = ?", (template_id,))
            return True

    def template_busy(self, template_id: str) -> bool:
        marks, states = _in(IN_FLIGHT_STATES)
        row = self._row(
            f"SELECT 1 FROM jobs WHERE template_id = ? AND status IN ({marks}) LIMIT 1",
            (template_id, *states),
        )
        return row is not None

    # --- jobs --------------------------------------------------------------------------------

    def insert_jobs(self, jobs: Sequence[JobRecord], batch: BatchRecord | None = None) -> None:
        """Insert jobs (a parent with its children, or a batch) in one transaction."""
        with self._write() as db:
            if batch is not None:
                db.execute(
                    "INSERT INTO batches (id, created_at, total) VALUES (?, ?, ?)",
                    (batch.id, batch.created_at, batch.total),
                )
            for job in jobs:
                db.execute(_INSERT_JOB, _job_values(job))
                db.executemany(
                    "INSERT OR IGNORE INTO job_tags (tag, job_id) VALUES (?, ?)",
                    [(tag, job.id) for tag in job.tags],
                )

    def get_job(self, job_id: str) -> JobRecord | None:
        row = self._row("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _job(row) if row else None

    def get_jobs(self, job_ids: Sequence[str]) -> list[JobRecord]:
        """The jobs with these ids, in the order given (unknown ids left out)."""
        if not job_ids:
            return []
        marks, values = _in(job_ids)
        found = {r["id"]: _job(r) for r in self._rows(f"SELECT * FROM jobs WHERE id IN ({marks})", values)}
        return [found[i] for i in job_ids if i in found]

    def list_jobs(self, query: JobQuery) -> list[JobRecord]:
        where, args = _job_filters(query)
        sql = f"SELECT * FROM jobs {where} ORDER BY {_SORTS[query.sort]} LIMIT ? OFFSET ?"
        return [_job(row) for row in self._rows(sql, [*args, query.limit, query.offset])]

    def children(self, parent_id: str) -> list[JobRecord]:
        rows = self._rows("SELECT * FROM jobs WHERE parent_id = ? ORDER BY id", (parent_id,))
        return [_job(row) for row in rows]

    def batch_jobs(self, batch_id: str) -> list[JobRecord]:
        rows = self._rows(
            "SELECT * FROM jobs WHERE batch_id = ? AND parent_id IS NULL ORDER BY batch_index",
            (batch_id,),
        )
        return [_job(row) for row in rows]

    def claim_next_job(self, at: str) -> JobRecord | None:
        """Move the most urgent queued job to ``render:download`` and return it."""
        with self._write() as db:
            row = db.execute(
                "UPDATE jobs SET status = 'render:download', started_at = ?, updated_at = ?,"
                " progress = 0 WHERE id = (SELECT id FROM jobs WHERE status = 'queued'"
                " ORDER BY priority DESC, id LIMIT 1) RETURNING *",
                (at, at),
            ).fetchone()
        return _job(row) if row else None

    def update_job(self, job_id: str, *, only_from: Sequence[str] = (), **fields: Any) -> bool:
        """Set ``fields``; with ``only_from``, only while the job is in one of those states."""
        assert fields.keys() <= _JOB_COLUMNS, fields.keys() - _JOB_COLUMNS
        sets = ", ".join(f"{name} = ?" for name in fields)
        sql, args = f"UPDATE jobs SET {sets} WHERE id = ?", [*fields.values(), job_id]
        if only_from:
            marks, states = _in(only_from)
            sql, args = sql + f" AND status IN ({marks})", [*args, *states]
        with self._write() as db:
            return db.execute(sql, args).rowcount > 0

    def cancel_jobs(self, job_ids: Sequence[str], at: str) -> list[str]:
        """Cancel those of ``job_ids`` still queued or pending; the ids actually cancelled."""
        marks, states = _in(CANCELLABLE_STATES)
        done: list[str] = []
        with self._write() as db:
            for job_id in job_ids:
                changed = db.execute(
                    f"UPDATE jobs SET status = ?, error_at = ?, updated_at = ?"
                    f" WHERE id = ? AND status IN ({marks})",
                    (JobState.CANCELLED.value, at, at, job_id, *states),
                ).rowcount
                if changed:
                    done.append(job_id)
        return done

    def requeue_in_flight(self, at: str) -> list[str]:
        """Jobs a worker held when the server stopped go back to the queue; their ids."""
        marks, states = _in(IN_FLIGHT_STATES)
        with self._write() as db:
            rows = db.execute(
                f"UPDATE jobs SET status = 'queued', progress = 0, updated_at = ?"
                f" WHERE status IN ({marks}) RETURNING id",
                (at, *states),
            ).fetchall()
        return [row["id"] for row in rows]

    def jobs_using_font(self, file_name: str) -> int:
        marks, states = _in(ACTIVE_STATES)
        row = self._row(
            f"SELECT COUNT(*) AS n FROM jobs, json_each(jobs.payload, '$.fonts') AS f"
            f" WHERE jobs.status IN ({marks}) AND f.value = ?",
            (*states, file_name),
        )
        return int(row["n"]) if row else 0

    # --- logs and webhook deliveries ---------------------------------------------------------

    def append_log(self, job_id: str, lines: Iterable[str]) -> None:
        with self._write() as db:
            db.executemany("INSERT INTO job_log (job_id, line) VALUES (?, ?)", [(job_id, x) for x in lines])

    def read_log(self, job_id: str) -> list[str]:
        rows = self._rows("SELECT line FROM job_log WHERE job_id = ? ORDER BY seq", (job_id,))
        return [row["line"] for row in rows]

    def add_delivery(self, job_id: str, attempt: int, at: str, outcome: str, *, ok: bool) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO webhook_deliveries (job_id, attempt, at, outcome, ok) VALUES (?, ?, ?, ?, ?)",
                (job_id, attempt, at, outcome, int(ok)),
            )

    def deliveries(self, job_id: str) -> list[tuple[int, str, str, bool]]:
        rows = self._rows(
            "SELECT attempt, at, outcome, ok FROM webhook_deliveries WHERE job_id = ? ORDER BY seq",
            (job_id,),
        )
        return [(r["attempt"], r["at"], r["outcome"], bool(r["ok"])) for r in rows]

    # --- fonts -------------------------------------------------------------------------------

    def insert_font(self, font: FontRecord) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO fonts (id, family_name, file_name, created_at, blob, size)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (font.id, font.family_name, font.file_name, font.created_at, font.blob, font.size),
            )

    def get_font(self, font_id: str) -> FontRecord | None:
        row = self._row("SELECT * FROM fonts WHERE id = ?", (font_id,))
        return _font(row) if row else None

    def list_fonts(self) -> list[FontRecord]:
        return [_font(row) for row in self._rows("SELECT * FROM fonts ORDER BY id")]

    def font_file_names(self) -> set[str]:
        return {row["file_name"] for row in self._rows("SELECT file_name FROM fonts")}

    def delete_font(self, font_id: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM fonts WHERE id = ?", (font_id,))

    # --- secrets -----------------------------------------------------------------------------

    def insert_secret(self, secret: SecretRecord, value: str) -> None:
        try:
            with self._write() as db:
                db.execute(
                    "INSERT INTO secrets (id, name, value, created_at) VALUES (?, ?, ?, ?)",
                    (secret.id, secret.name, value, secret.created_at),
                )
        except sqlite3.IntegrityError:
            raise DuplicateName(secret.name) from None

    def list_secrets(self) -> list[SecretRecord]:
        rows = self._rows("SELECT id, name, created_at FROM secrets ORDER BY id")
        return [SecretRecord(r["id"], r["name"], r["created_at"]) for r in rows]

    def secret_values(self) -> dict[str, str]:
        return {r["name"]: r["value"] for r in self._rows("SELECT name, value FROM secrets")}

    def delete_secret(self, secret_id: str) -> bool:
        with self._write() as db:
            return db.execute("DELETE FROM secrets WHERE id = ?", (secret_id,)).rowcount > 0

    # --- batches -----------------------------------------------------------------------------

    def get_batch(self, batch_id: str) -> BatchRecord | None:
        row = self._row("SELECT * FROM batches WHERE id = ?", (batch_id,))
        return BatchRecord(row["id"], row["created_at"], row["total"]) if row else None


_INSERT_JOB = (
    "INSERT INTO jobs (id, kind, template_id, parent_id, batch_id, batch_index, status, progress,"
    " priority, payload, output, tags, missing_fonts, total_assets, created_at, updated_at,"
    " started_at, finished_at, error_at, render_duration, error)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _job_values(job: JobRecord) -> tuple[Any, ...]:
    return (
        job.id, job.kind.value, job.template_id, job.parent_id, job.batch_id, job.batch_index,
        job.status, job.progress, job.priority, json.dumps(job.payload), job.output,
        json.dumps(list(job.tags)), json.dumps(list(job.missing_fonts)), job.total_assets,
        job.created_at, job.updated_at, job.started_at, job.finished_at, job.error_at,
        job.render_duration, job.error,
    )  # fmt: skip


def _job_filters(query: JobQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if query.states:
        marks, values = _in(query.states)
        clauses.append(f"status IN ({marks})")
        args += values
    if query.exclude_states:
        marks, values = _in(query.exclude_states)
        clauses.append(f"status NOT IN ({marks})")
        args += values
    if query.from_date:
        clauses.append("created_at >= ?")
        args.append(query.from_date)
    if query.to_date:
        clauses.append("created_at <= ?")
        args.append(query.to_date)
    if query.tags:
        marks, values = _in(query.tags)
        clauses.append(
            f"id IN (SELECT job_id FROM job_tags WHERE tag IN ({marks}) GROUP BY job_id HAVING COUNT(*) = ?)"
        )
        args += [*values, len(set(query.tags))]
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), args


def _in(values: Iterable[str]) -> tuple[str, list[str]]:
    items = [str(v) for v in values]
    return ", ".join("?" for _ in items) or "NULL", items


def _info_json(info: TemplateInfo | None) -> str | None:
    return json.dumps(info.to_json()) if info is not None else None


def _template(row: sqlite3.Row) -> TemplateRecord:
    info = TemplateInfo.from_json(json.loads(row["info"])) if row["info"] else None
    return TemplateRecord(
        id=row["id"], type=row["type"], display_name=row["display_name"], status=row["status"],
        created_at=row["created_at"], updated_at=row["updated_at"], error=row["error"],
        src=row["src"], upload_id=row["upload_id"], upload_issued=row["upload_issued"],
        blob=row["blob"], size=row["size"], info=info,
    )  # fmt: skip


def _job(row: sqlite3.Row) -> JobRecord:
    payload: JsonObject = json.loads(row["payload"])
    return JobRecord(
        id=row["id"], kind=JobKind(row["kind"]), template_id=row["template_id"],
        status=row["status"], payload=payload, output=row["output"],
        created_at=row["created_at"], updated_at=row["updated_at"], parent_id=row["parent_id"],
        batch_id=row["batch_id"], batch_index=row["batch_index"], progress=row["progress"],
        priority=row["priority"], tags=tuple(json.loads(row["tags"])),
        missing_fonts=tuple(json.loads(row["missing_fonts"])), total_assets=row["total_assets"],
        started_at=row["started_at"], finished_at=row["finished_at"], error_at=row["error_at"],
        render_duration=row["render_duration"], error=row["error"],
    )  # fmt: skip


def _font(row: sqlite3.Row) -> FontRecord:
    return FontRecord(
        row["id"], row["family_name"], row["file_name"], row["created_at"], row["blob"], row["size"]
    )
