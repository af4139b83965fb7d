"""Writing files so that a failure never destroys what was there.

Every file the package writes (drawings, step pages, the demo's files) goes
through :func:`write_atomically`: the bytes go to a new temporary file in the
target's own directory, which is flushed to disk and then renamed over the
target in one step (:func:`os.replace`). A write that fails part-way (a full
disk, a file-size limit, an interrupt) leaves the previous file exactly as it
was and removes the temporary file, and the error names the target.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

__all__ = ["write_atomically"]


def write_atomically(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Writes ``data`` to ``path`` all at once, or not at all.

    The data goes to a temporary file beside ``path`` (same directory, so the
    rename never crosses file systems), which is synced and then renamed into
    place. An existing file keeps its permission bits; a new one gets the
    usual ``0o666`` less the umask. A symbolic link is followed: the file it
    points to is replaced, the link stays.

    Args:
        path: The file to write.
        data: Text (written as UTF-8) or bytes.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        OSError: The file could not be written (the same subclass as the
            underlying error, e.g. :class:`PermissionError`); the message
            names ``path`` and says the previous file is unchanged. No
            temporary file is left behind.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    real = Path(os.path.realpath(target)) if target.is_symlink() else target
    tmp: Path | None = None
    try:
        fd, tmp = _create_beside(real)
        try:
            if hasattr(os, "fchmod"):  # keep an existing file's permission bits
                with contextlib.suppress(OSError):
                    os.fchmod(fd, stat.S_IMODE(os.stat(real).st_mode))
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, real)
        tmp = None
    except OSError as err:
        raise _failed(target, err) from err
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return target


def _create_beside(target: Path) -> tuple[int, Path]:
    """Creates a new, empty temporary file in ``target``'s directory; returns (fd, path)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp  # the umask applies, as for open()
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {target}")


def _failed(target: Path, err: OSError) -> OSError:
    """The error to raise: the same kind as ``err``, naming the target."""
    reason = err.strerror or str(err)
    before = "the previous file is unchanged" if target.exists() else "nothing was written"
    message = f"cannot write {target}: {reason} ({before})"
    if err.errno is None:
        return OSError(message)
    return OSError(err.errno, message)  # OSError(errno, …) picks the subclass (PermissionError…)
