"""The files beside a SQLite database: the writers' lock file and the wake-up sockets.

Both belong to the database file's owner and are not open to other users (a lock file
anyone could open would let anyone block every writer); ones owned by someone else are
refused. Wake-ups are datagrams over unix sockets in ``<db>.wake/``; an in-memory database
wakes its waiters in-process.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import socket
import stat
import threading
from collections.abc import Sequence

from jobyard.errors import DatabaseError
from jobyard.i18n import _
from jobyard.store.base import Waiter

_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes; longer paths go through /proc/self/fd


def _db_owner(db: str) -> os.stat_result:
    try:
        return os.stat(db)
    except OSError as exc:
        raise DatabaseError(
            _("cannot open database file {db}: {strerror}", db=db, strerror=exc.strerror)
        ) from None


def _refuse(path: str, what: str, found: os.stat_result, db: os.stat_result) -> DatabaseError:
    return DatabaseError(
        _(
            "refusing the {what} {path}: it is owned by uid {st_uid}, not by the database file's "
            "owner (uid {st_uid2}) or this process (uid {geteuid}); another user may have planted "
            "it: check and remove it",
            what=what,
            path=path,
            st_uid=found.st_uid,
            st_uid2=db.st_uid,
            geteuid=os.geteuid(),
        )
    )


def _adopt(fd: int, found: os.stat_result, db: os.stat_result, mode: int) -> None:
    """Give a file we may manage the database file's owner and ``mode`` (root creating it
    for another user's database, or a file left with a wider mode)."""
    if os.geteuid() == 0 and (found.st_uid, found.st_gid) != (db.st_uid, db.st_gid):
        os.fchown(fd, db.st_uid, db.st_gid)
    if stat.S_IMODE(found.st_mode) != mode and (found.st_uid == os.geteuid() or not os.geteuid()):
        os.fchmod(fd, mode)


def _shared_mode(db: os.stat_result, base: int) -> int:
    # The database's group may share it (mode 0660): then the group may lock and wake too.
    group = 0o070 & base if db.st_mode & stat.S_IWGRP else 0
    return (base & 0o700) | group


def open_lock_file(path: str, db_path: str) -> int:
    """Open (create) the writers' lock file beside the database; refuse a foreign one."""
    db = _db_owner(db_path)
    mode = _shared_mode(db, 0o660)
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DatabaseError(
                _("refusing the lock file {path}: it is a symbolic link", path=path)
            ) from None
        raise DatabaseError(
            _("cannot open the lock file {path}: {strerror}", path=path, strerror=exc.strerror)
        ) from None
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            raise DatabaseError(
                _("refusing the lock file {path}: it is not a regular file", path=path)
            )
        if found.st_uid not in (os.geteuid(), db.st_uid):
            raise _refuse(path, "lock file", found, db)
        _adopt(fd, found, db, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_wake_dir(path: str, db_path: str) -> int:
    """Create (or check) the wake-up folder beside the database; returns an fd of it."""
    db = _db_owner(db_path)
    mode = _shared_mode(db, 0o770)
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        pass
    except OSError as exc:
        raise DatabaseError(
            _(
                "cannot create the wake-up folder {path}: {strerror}",
                path=path,
                strerror=exc.strerror,
            )
        ) from None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise DatabaseError(
            _(
                "refusing the wake-up folder {path}: {strerror} (not a plain folder?)",
                path=path,
                strerror=exc.strerror,
            )
        ) from None
    try:
        found = os.fstat(fd)
        if found.st_uid not in (os.geteuid(), db.st_uid):
            raise _refuse(path, "wake-up folder", found, db)
        _adopt(fd, found, db, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def wake_address(path: str) -> str:
    """A unix socket address for ``path``: itself, or (too long for sun_path) the same file
    reached through an fd of its folder."""
    if len(os.fsencode(path)) <= _SOCKET_PATH_MAX:
        return path
    folder, name = os.path.split(path)
    fd = _folder_fds.get(folder)
    if fd is None:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        _folder_fds[folder] = fd  # one per folder for the process's lifetime
    return f"/proc/self/fd/{fd}/{name}"


_folder_fds: dict[str, int] = {}


class MemoryWaiter(Waiter):
    """In-memory database: one process, so wake-ups are a thread event (no files)."""

    def __init__(self, registry: set[MemoryWaiter]) -> None:
        self.event = threading.Event()
        self.closed = False
        self.registry = registry
        registry.add(self)

    def wake(self) -> None:
        self.event.set()

    def wait(self, timeout: float) -> bool:
        if self.closed:
            return False
        woken = self.event.wait(max(timeout, 0.0))
        self.event.clear()
        return woken and not self.closed

    def close(self) -> None:
        self.closed = True
        self.registry.discard(self)
        self.event.set()


class SocketWaiter(Waiter):
    _counter = itertools.count()

    def __init__(self, folder: str, db_path: str) -> None:
        self.folder = folder
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        for attempt in range(3):
            dirfd = open_wake_dir(folder, db_path)
            name = f"{os.getpid()}-{next(self._counter)}"
            self.path = os.path.join(folder, name)
            try:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=dirfd)
                # A path too long for sun_path is bound through the folder's fd.
                short = len(os.fsencode(self.path)) <= _SOCKET_PATH_MAX
                self.sock.bind(self.path if short else f"/proc/self/fd/{dirfd}/{name}")
                return
            except FileNotFoundError:
                if attempt == 2:  # the folder was removed (a last waiter closing) each time
                    raise
            finally:
                os.close(dirfd)

    closed = False

    def wait(self, timeout: float) -> bool:
        if self.closed:
            return False
        self.sock.settimeout(max(timeout, 0.0))
        try:
            self.sock.recv(1024)
        except (TimeoutError, BlockingIOError):
            return False
        except OSError:
            return False  # closed meanwhile
        if self.closed:
            return False
        # Drain whatever else arrived: one wake-up is enough.
        self.sock.setblocking(False)
        try:
            while True:
                self.sock.recv(1024)
        except (BlockingIOError, OSError):
            pass
        return True

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        # Mark it closed, then wake a wait blocked in another thread: closing the socket
        # alone would not end that wait.
        self.closed = True
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as poke:
                poke.sendto(b"", wake_address(self.path))
        except OSError:
            pass
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
        try:
            os.rmdir(self.folder)  # the last waiter leaves nothing behind
        except OSError:
            pass


class WakeSender:
    """Sends wake-ups to the waiters' sockets in ``wake_dir`` (their list re-read when the
    folder changes); a socket whose listener died without cleaning up is removed."""

    def __init__(self, wake_dir: str) -> None:
        self.wake_dir = wake_dir
        self._sock: socket.socket | None = None
        self._peers: list[str] = []
        self._mtime = -1.0

    def send(self, queues: Sequence[str]) -> None:
        try:
            mtime = os.stat(self.wake_dir).st_mtime
        except FileNotFoundError:
            return
        if mtime != self._mtime:
            try:
                names = os.listdir(self.wake_dir)
            except OSError:
                return
            self._peers = [os.path.join(self.wake_dir, n) for n in names]
            self._mtime = mtime
        if not self._peers:
            return
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.setblocking(False)
        payload = ",".join(queues).encode()[:512]
        for peer in self._peers:
            try:
                self._sock.sendto(payload, wake_address(peer))
            except OSError as exc:
                if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
                    try:
                        os.unlink(peer)
                    except OSError:
                        pass
                # EAGAIN: its buffer is full, so it has wake-ups pending anyway.

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
