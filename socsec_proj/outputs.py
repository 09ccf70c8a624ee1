"""Writing results so that nothing a user has is ever lost: one folder per result, swapped in whole.

``socsec-proj run`` writes ``OUT/<scenario>/`` and ``compare`` writes ``OUT/<a>_vs_<b>/``. Each
result is written into a hidden staging folder beside it, ``OUT/.<name>.<host>.<pid>.<random>.tmp``,
and swapped into place only when complete:

* On Linux the swap is one ``renameat2(RENAME_EXCHANGE)`` call: the new folder and the earlier
  result trade places atomically, so a reader always finds one complete result under the name,
  even if the process is killed at that instant. The earlier result (now under the staging name)
  is then deleted.
* Where that call is missing (another OS, a file system without it) the swap is two renames,
  ``name -> .<name>...old`` then staging ``-> name``, with SIGINT/SIGTERM held back between them.
  Only SIGKILL or a power cut in the microseconds between the two leaves no ``name``; the next
  run into ``OUT`` then renames the ``.old`` folder back (see :func:`remove_stale`).

Swaps and the clean-up of stale folders hold ``fcntl.flock`` on ``OUT/.socsec-proj.lock``, for
those few milliseconds only, so concurrent runs of one scenario serialise their swaps (the last
complete one wins) and runs of different scenarios never touch each other's folders. Staging
folders of killed runs (their process is gone: the host and pid are in the name) are removed by
the next run into the same ``OUT``.

Only what socsec-proj wrote is ever replaced or removed: every result folder holds a marker file
:data:`MARKER`, and a folder of the result's name without it (or a file) is refused before
anything is computed. Folders are made with ``mkdir`` and so get the user's umask.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import io
import os
import re
import secrets
import shutil
import signal
import socket
import sys
from pathlib import Path

from .errors import InputError

#: Lock file in ``OUT``, held only while a result is swapped in or stale folders are removed.
LOCK_NAME = ".socsec-proj.lock"
#: Marker file inside every result folder socsec-proj writes: only such folders are replaced.
MARKER = ".socsec-proj"
#: Characters the staging name adds to a result's name: ``.`` + name + ``.host8.pid.rand8.tmp``.
_STAGING_EXTRA = 1 + 1 + 8 + 1 + 10 + 1 + 8 + 4
_STAGING = re.compile(r"^\.(?P<name>.+)\.(?P<host>[0-9a-f]{8})\.(?P<pid>\d+)\.[0-9a-f]{8}\.(?P<kind>tmp|old)$")


def _host() -> str:
    """Eight hex digits naming this machine, so that a run never takes another machine's live
    staging folder on a shared file system for a dead one."""
    return hashlib.sha1(socket.gethostname().encode("utf-8", "surrogateescape")).hexdigest()[:8]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except OverflowError:
        return False
    return True


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _existing_ancestor(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path("/")


def is_result(folder: Path) -> bool:
    """Whether ``folder`` is a result folder socsec-proj wrote (a real folder with the marker)."""
    return folder.is_dir() and not folder.is_symlink() and (folder / MARKER).is_file()


def check_destination(out: Path, names, key: str = "--out") -> None:
    """Refuse, before anything is computed, an ``OUT`` the results cannot go to.

    Raises
    ------
    InputError
        ``out`` (or a folder above it) is a file; a result's name is too long for the file
        system; ``OUT/<name>`` exists and was not written by socsec-proj.
    PermissionError
        ``out`` cannot be written (read-only file system, no permission): a disk error, not bad input.
    """
    out = Path(out)
    ancestor = _existing_ancestor(out)
    if not ancestor.is_dir():
        what = "is a file" if ancestor == out else f"is inside {ancestor}, which is a file"
        raise InputError(f"{out} {what}", source="command line", key=key,
                         expected="a folder (created if missing); results go to a subfolder per scenario")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        code = errno.EACCES
        with contextlib.suppress(OSError):
            if os.statvfs(ancestor).f_flag & os.ST_RDONLY:
                code = errno.EROFS
        raise PermissionError(code, os.strerror(code), str(ancestor))
    limit = _name_max(ancestor)
    for name in names:
        size = len(os.fsencode(name))
        if size + _STAGING_EXTRA > limit:
            raise InputError(f"the result folder name {name[:40]!r}... is {size} bytes long", source="command line",
                             key=key, expected=f"a scenario name of at most {limit - _STAGING_EXTRA} bytes")
        target = out / name
        if os.path.lexists(target) and not is_result(target):
            raise InputError(f"{target} exists and was not written by socsec-proj (no {MARKER} inside); it is "
                             "never replaced", source="command line", key=key,
                             expected="another --out, or move that file or folder away")


@contextlib.contextmanager
def _signals_held():
    """Hold SIGINT and SIGTERM back inside the block (they are delivered at its end)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def locked(out: Path):
    """``fcntl.flock`` on ``OUT/.socsec-proj.lock`` for the block (waits for another holder)."""
    descriptor = os.open(Path(out) / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2():
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # glibc before 2.28, musl
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def exchange(a: Path, b: Path) -> bool:
    """Swap the names of ``a`` and ``b`` in one atomic step; False where the system cannot."""
    function = _renameat2()
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _owned_staging(entry: Path) -> bool:
    """A staging folder this package made: the marker inside, or empty (killed before writing it)."""
    if entry.is_symlink() or not entry.is_dir():
        return False
    return (entry / MARKER).is_file() or not any(entry.iterdir())


def remove_stale(out: Path) -> list[Path]:
    """Remove the staging folders of runs into ``out`` that were killed; call with the lock held.

    A folder counts as stale only when its host is this machine and its process is gone. A
    ``.old`` folder whose result is missing (a kill between the two renames of the fallback
    swap) is renamed back into place instead of deleted.

    Returns
    -------
    list of Path
        The folders removed or restored.
    """
    host, handled = _host(), []
    for entry in Path(out).iterdir():
        match = _STAGING.match(entry.name)
        if not match or match["host"] != host or _alive(int(match["pid"])) or not _owned_staging(entry):
            continue
        target = entry.with_name(match["name"])
        if match["kind"] == "old" and not os.path.lexists(target):
            os.rename(entry, target)
        else:
            shutil.rmtree(entry, ignore_errors=True)
        handled.append(entry)
    return handled


@contextlib.contextmanager
def destination(out: Path):
    """Open ``out`` for results: create it (and missing parents, with the umask) and remove the
    stale staging folders of killed runs. If the block fails, the folders it created are
    removed again when nothing else is in them."""
    out = Path(out)
    created = [folder for folder in (*reversed(out.parents), out) if not os.path.lexists(folder)]
    try:
        out.mkdir(parents=True, exist_ok=True)
        with locked(out):
            remove_stale(out)
        yield out
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                if [p.name for p in out.iterdir()] == [LOCK_NAME]:
                    (out / LOCK_NAME).unlink()
            for folder in reversed(created):  # innermost first; only those left empty
                with contextlib.suppress(OSError):
                    folder.rmdir()
        raise


@contextlib.contextmanager
def staged(out: Path, name: str, note: str = ""):
    """A staging folder for the result ``OUT/<name>``, swapped into place when the block completes.

    Parameters
    ----------
    out : Path
        The results folder (opened with :func:`destination`).
    name : str
        The result's folder name (a scenario's name, or ``a_vs_b``).
    note : str
        What wrote it, kept in the marker file.

    Yields
    ------
    Path
        The staging folder to write into. On any error, or Ctrl-C, it is removed and an
        earlier ``OUT/<name>`` stays as it was.
    """
    out = Path(out)
    staging = out / f".{name}.{_host()}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:  # made inside the try: a Ctrl-C just after the mkdir still removes it
        staging.mkdir(mode=0o777)  # the umask applies (tempfile.mkdtemp would make it 0700)
        (staging / MARKER).write_text(f"written by socsec-proj{': ' + note if note else ''}\n", encoding="utf-8")
        yield staging
        target = out / name
        with _signals_held(), locked(out):
            if not os.path.lexists(target):
                os.rename(staging, target)
            elif not is_result(target):  # appeared while this run computed
                raise InputError(f"{target} exists and was not written by socsec-proj; it is never replaced",
                                 source="command line", key="--out", expected="another --out")
            elif not exchange(staging, target):  # the fallback: two renames, signals held between them
                old = staging.with_name(staging.name[:-len(".tmp")] + ".old")
                os.rename(target, old)
                try:
                    os.rename(staging, target)
                except BaseException:
                    os.rename(old, target)  # put the earlier result back
                    raise
                staging = old
            # else: ``staging`` now holds the earlier result, removed below
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _umask() -> int:
    # os.umask can only be read by setting it: set it back at once (a single-threaded moment
    # at worst changes what a concurrent mkdir gets for microseconds, never more than the user's own mask).
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def file_in_place(path: Path):
    """A temporary name beside ``path`` to write to; renamed onto ``path`` when the block ends.

    A reader of ``path`` sees the earlier file or the complete new one, never half of one; if
    the block raises, the temporary file is removed and ``path`` is untouched. The file gets
    the user's umask (``mkstemp`` alone would make it 0600).

    >>> with file_in_place(Path("report.html")) as temporary:   # doctest: +SKIP
    ...     temporary.write_text(page, encoding="utf-8")
    """
    import tempfile

    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        os.chmod(temporary, 0o666 & ~_umask())
        yield Path(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


class WrittenThrough(io.FileIO):
    """A file opened for writing whose every :data:`WRITE_THROUGH_BYTES` are sent to the disk
    and dropped from the page cache as they are written (``fdatasync``, then
    ``posix_fadvise(DONTNEED)``), for the large files a command writes and does not read again.

    Why: the kernel keeps a written file's pages in memory, and each new page is memory
    written for the first time. On a virtual machine whose freed memory goes back to the host
    (free page reporting, as on the 2-core VM the benchmarks run on) that costs ~7 ms per MB:
    232 MB written in 8 MB pieces took 2.3-2.5 s, and 0.27-0.33 s when every 32 MB was
    written through and dropped, so that the next pieces reuse those pages; ``draws.nc`` of
    1,000 draws, 2.31 -> 1.30 s. Elsewhere it leaves the page cache to files that are read.
    The bytes are the same. Where the calls do not exist (macOS, Windows) it is a plain file.
    """

    def __init__(self, path):
        super().__init__(path, "w")
        self._dropped = 0  # bytes from the start already written through and dropped

    def write(self, data) -> int:
        written = super().write(data)
        end = self.tell()
        if end - self._dropped >= WRITE_THROUGH_BYTES and hasattr(os, "posix_fadvise") and hasattr(os, "fdatasync"):
            os.fdatasync(self.fileno())  # dirty pages cannot be dropped: clean them first
            os.posix_fadvise(self.fileno(), self._dropped, end - self._dropped, os.POSIX_FADV_DONTNEED)
            self._dropped = end
        return written


#: Bytes a :class:`WrittenThrough` file writes between two drops from the page cache.
WRITE_THROUGH_BYTES = 32 * 2**20
