"""Files only the service's own user may read: the SQLite database (PHI, sealed or not, and
the audit log) and the key ring. Made with mode 0600 from the start, never chmod-ed after,
so there is no moment in which another local user could open them."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE = 0o600


def create_private_file(path: Path) -> bool:
    """Create `path` empty with mode 0600 unless it exists; True when it was made now."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    except FileExistsError:
        return False
    os.close(fd)
    return True
