"""A class's shared models: a teacher's checkpoint kept on the server under a short code.

A teacher trains once and shares; every student opens the same model with the code (six characters,
easy to read aloud: no 0/O, no 1/I/L) or a link carrying it. The models live in one SQLite file as
the checkpoint's zip (model.checkpoint: safetensors weights and two JSON files), and a model is read
back only through ``checkpoint.from_zip``, which checks every file and never unpickles or runs
anything. The store has limits: the size of a model, the number of models, and how long one is kept.

    store = ModelStore(path)
    code = store.share(archive).code     # archive: the bytes of a checkpoint zip
    ckpt = store.open(code)              # ShareError with a code and values when it cannot

No Streamlit here: the app words each ShareError in the page's language (assets/i18n: error_<code>).
"""

from __future__ import annotations

import secrets
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from . import checkpoint
from .checkpoint import Checkpoint

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 characters that cannot be misread for one another
CODE_LENGTH = 6  # 31**6, about 887 million codes


@dataclass(frozen=True)
class StoreLimits:
    max_model_bytes: int = 64 * 2**20  # a checkpoint zip; the "large" preset's is about 30 MB
    max_models: int = 200  # kept at once; expired ones do not count
    keep_seconds: float = 7 * 24 * 3600  # a week: the next lesson
    # an expired code is remembered (without its model) this long, to say "expired" rather than "unknown"
    remember_seconds: float = 60 * 24 * 3600


# The English of each ShareError, as the command line would print it; the app words the same code.
MESSAGES = {
    "bad_code": "“{code}” is not a class code: a code is {length} letters and digits from {alphabet}",
    "unknown_code": "no model is shared under the code {code}",
    "expired_code": "the model shared under {code} has expired (models are kept {days} days)",
    "store_full": "the server already keeps {n} shared models, its limit: try again when one expires",
    "model_too_big": "the model is {mb:.1f} MB; the server keeps models up to {limit:.0f} MB",
    "store_unavailable": "the server cannot keep shared models here ({detail})",
}


class ShareError(ValueError):
    """A model cannot be shared or opened. ``code`` names the problem, ``values`` fill in its sentence."""

    def __init__(self, problem: str, /, **values: object) -> None:
        self.code, self.values = problem, values
        super().__init__(MESSAGES[problem].format(**values))


@dataclass(frozen=True)
class Shared:
    code: str
    expires: float  # seconds since the epoch


def normalise_code(text: str) -> str:
    """A code as a person may type or read it ("abc 234", "ABC-234") in its one written form."""
    code = "".join(ch for ch in str(text).upper() if ch not in " -_\t")
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        raise ShareError("bad_code", code=str(text)[:20], length=CODE_LENGTH, alphabet=ALPHABET)
    return code


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


class ModelStore:
    """Shared models in one SQLite file; safe to use from several sessions' threads and processes at once
    (each call opens its own connection, and SQLite serialises the writes)."""

    def __init__(self, path: str | Path, limits: StoreLimits = StoreLimits()) -> None:
        self.path, self.limits = Path(path), limits

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)  # transactions written out below
            db.execute(
                "CREATE TABLE IF NOT EXISTS models (code TEXT PRIMARY KEY, created REAL NOT NULL, "
                "expires REAL NOT NULL, bytes INTEGER NOT NULL, archive BLOB)"
            )
        except (sqlite3.Error, OSError) as exc:
            raise ShareError("store_unavailable", detail=str(exc)[:120]) from None
        return db

    def _forget_expired(self, db: sqlite3.Connection, now: float) -> None:
        db.execute("UPDATE models SET archive = NULL WHERE expires <= ? AND archive IS NOT NULL", (now,))
        db.execute("DELETE FROM models WHERE expires <= ?", (now - self.limits.remember_seconds,))

    def count(self, now: float | None = None) -> int:
        """Models kept and not expired."""
        now = time.time() if now is None else now
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM models WHERE expires > ?", (now,)).fetchone()[0]

    def share(self, archive: bytes, now: float | None = None) -> Shared:
        """Keep a checkpoint zip under a new code. The zip is checked first (CheckpointError if it is not
        a checkpoint this app can open); ShareError when it is too big or the store is full."""
        now = time.time() if now is None else now
        limit = self.limits.max_model_bytes
        if len(archive) > limit:
            raise ShareError("model_too_big", mb=len(archive) / 2**20, limit=limit / 2**20)
        with tempfile.TemporaryDirectory() as tmp:
            checkpoint.from_zip(archive, tmp)  # only what opens again is kept
        expires = now + self.limits.keep_seconds
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")  # one writer at a time: the count and the insert agree
            self._forget_expired(db, now)
            kept = db.execute("SELECT COUNT(*) FROM models WHERE expires > ?", (now,)).fetchone()[0]
            if kept >= self.limits.max_models:
                raise ShareError("store_full", n=kept)
            while True:  # a code already given (even an expired one still remembered) is never given again
                code = new_code()
                if db.execute("SELECT 1 FROM models WHERE code = ?", (code,)).fetchone() is None:
                    break
            db.execute(
                "INSERT INTO models (code, created, expires, bytes, archive) VALUES (?, ?, ?, ?, ?)",
                (code, now, expires, len(archive), archive),
            )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()
        return Shared(code, expires)

    def open(self, code: str, device: str | torch.device = "cpu", now: float | None = None) -> Checkpoint:
        """The model shared under ``code`` (typed in any case, with spaces or dashes)."""
        with tempfile.TemporaryDirectory() as tmp:
            return checkpoint.from_zip(self.fetch(code, now), tmp, device)

    def fetch(self, code: str, now: float | None = None) -> bytes:
        """The checkpoint zip shared under ``code``, as it was stored (``open`` reads it)."""
        now = time.time() if now is None else now
        code = normalise_code(code)
        db = self._connect()
        try:
            row = db.execute("SELECT expires, archive FROM models WHERE code = ?", (code,)).fetchone()
        finally:
            db.close()
        if row is None:
            raise ShareError("unknown_code", code=code)
        expires, archive = row
        if expires <= now or archive is None:
            raise ShareError("expired_code", code=code, days=round(self.limits.keep_seconds / 86400))
        return archive
