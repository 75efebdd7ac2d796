"""A key ring that follows its key file, so a rotation reaches running processes without a
restart (`clinicflow keys rotate` → `reseal` → `retire`, with every process serving)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from clinicflow.infra.crypto import KeyRing, KeyRingError, _Keys, load
from clinicflow.infra.logging import get_logger

log = get_logger(__name__)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return (found.st_ino, found.st_mtime_ns, found.st_size)


class LiveKeyRing(KeyRing):
    """The key file as it is now: a rotation saved by `clinicflow keys` is picked up by every
    running process without a restart. Before sealing, the file's identity (inode, mtime,
    size: one stat) is compared with the one loaded, so new values go under the newest active
    key; a value naming a key this process does not know makes it look again too. A file
    that is missing or unreadable meanwhile keeps the keys already loaded (and says so), and
    an older copy of the file coming back (its active key gone) gives the active key but
    keeps opening with the keys it lacks (`key_file_lost_keys`)."""

    __slots__ = ("_path", "_seen")

    def __init__(self, path: Path, ring: KeyRing | None = None) -> None:
        self._path = path
        self._seen = _stamp(path)
        self._state = (ring or load(path))._current()

    @property
    def path(self) -> Path:
        return self._path

    def _sealing(self) -> _Keys:
        self.refresh()
        return self._state

    def _key_for(self, key_id: str) -> bytes | None:
        key = self._state.keys.get(key_id)
        if key is None and self.refresh():
            key = self._state.keys.get(key_id)
        return key

    def refresh(self) -> bool:
        """Reload when the file changed since it was read; whether the keys changed."""
        stamp = _stamp(self._path)
        if stamp == self._seen:
            return False
        self._seen = stamp
        try:
            state = load(self._path)._current()
        except (OSError, KeyRingError) as exc:
            log.error(
                "key_file_unreadable", key_file=str(self._path), reason=str(exc), kept="loaded_keys"
            )
            return False
        state = self._kept(state)
        changed = state != self._state
        if changed:
            log.warning(
                "key_file_reloaded",
                key_file=str(self._path),
                active_key=state.active,
                keys=sorted(state.keys),
            )
        self._state = state
        return changed

    def _kept(self, state: _Keys) -> _Keys:
        """The file's keys, plus those it lost when an older copy came back (its active key
        went): values sealed under them meanwhile must keep opening. A retirement (`keys
        retire`, the active key stays) drops keys on purpose and is followed."""
        lost = sorted(set(self._state.keys) - set(state.keys))
        if not lost or self._state.active in state.keys:
            return state
        log.error(
            "key_file_lost_keys",
            key_file=str(self._path),
            lost_keys=lost,
            active_key=state.active,
            kept="in_memory_until_restart",
        )
        return replace(state, keys=self._state.keys | state.keys)
