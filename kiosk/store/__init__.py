"""The local store: encrypted candidate data in SQLite, the audit log, erasure by key destruction.

    StoreError                  (a KioskError)
    ├── LockedError             reading candidate data needs the kiosk unlocked
    └── SessionNotFoundError    no session has that reference code (or it was erased)
    ColumnError                 (a VaultError) an encrypted column does not decrypt
"""

from kiosk.store.audit import ACTIONS, AuditEntry, AuditLog, Verification
from kiosk.store.cipher import ColumnError, SessionKeys
from kiosk.store.database import (
    DATABASE_FILE,
    MEDIA_DIR,
    Erasure,
    LockedError,
    SessionNotFoundError,
    Store,
    StoreError,
)
from kiosk.store.schema import MIGRATIONS

__all__ = [
    "ACTIONS",
    "DATABASE_FILE",
    "MEDIA_DIR",
    "MIGRATIONS",
    "AuditEntry",
    "AuditLog",
    "ColumnError",
    "Erasure",
    "LockedError",
    "SessionKeys",
    "SessionNotFoundError",
    "Store",
    "StoreError",
    "Verification",
]
