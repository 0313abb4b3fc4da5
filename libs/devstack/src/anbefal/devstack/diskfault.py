"""A small disk that can be filled on demand, for the disk-full fault (tests/faults).

`small_disk` mounts a size-limited tmpfs at a folder, so a server whose data lives there sees an
ordinary filesystem that runs out of space (ENOSPC on write, extend and fallocate) long before the
machine's disk would; `SmallDisk.fill` then takes every free byte with a filler file and
`SmallDisk.free` gives them back. tmpfs rather than a loop-mounted image: no image file, no loop
device to leak, and its ENOSPC is immediate (no delayed allocation or reserved blocks that would
let root-owned writes through). Mounting needs root with CAP_SYS_ADMIN; when it is not possible
the caller gets an error that says so, never a silent skip.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# In the mounted folder itself: servers ignore a file they do not know in their data folder
# (PostgreSQL's data directory, Kafka's log dir), and it dies with the mount whatever happens.
FILLER_NAME = ".anbefal-disk-filler"
_CHUNK = 1 << 20


class MountError(RuntimeError):
    """The small disk could not be mounted (not root, no CAP_SYS_ADMIN, no tmpfs)."""


@dataclass
class SmallDisk:
    path: Path
    size_bytes: int

    @property
    def filler(self) -> Path:
        return self.path / FILLER_NAME

    def free_bytes(self) -> int:
        """Bytes an unprivileged writer could still use (tmpfs keeps nothing back for root)."""
        stat = os.statvfs(self.path)
        return stat.f_bavail * stat.f_frsize

    def used_bytes(self) -> int:
        stat = os.statvfs(self.path)
        return (stat.f_blocks - stat.f_bfree) * stat.f_frsize

    def fill(self) -> int:
        """Take every free byte (again, if the server freed some since); returns bytes added.

        fallocate takes the space at once without writing it; what is left over (the server
        wrote meanwhile, or the last partial block) is written in shrinking chunks until ENOSPC,
        so at most one page stays free."""
        added = 0
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            offset = os.fstat(fd).st_size
            free = self.free_bytes()
            if free > 0:
                with contextlib.suppress(OSError):  # ENOSPC: a server took some meanwhile
                    os.posix_fallocate(fd, offset, free)
                    added += free
                    offset += free
            chunk = _CHUNK
            while chunk >= 512:
                try:
                    written = os.pwrite(fd, b"\0" * chunk, offset)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    chunk //= 2
                    continue
                offset += written
                added += written
        finally:
            os.close(fd)
        return added

    def free(self) -> None:
        """Give the filler's space back."""
        self.filler.unlink(missing_ok=True)


def _owner_options(owner: str | None) -> str:
    if owner is None:
        return ""
    user = pwd.getpwnam(owner)
    # The mount's root belongs to the server's user from the start, with the mode PostgreSQL
    # demands of a data directory (initdb refuses a folder it cannot own and lock down).
    return f",uid={user.pw_uid},gid={user.pw_gid},mode=0700"


def _umount(path: Path) -> None:
    """Unmount; lazily (detach now, release when the last file closes) if still busy."""
    result = subprocess.run(["umount", str(path)], capture_output=True, text=True)
    if result.returncode != 0 and os.path.ismount(path):
        subprocess.run(["umount", "-l", str(path)], capture_output=True, text=True, check=True)


@contextlib.contextmanager
def small_disk(path: Path, size_mb: int, *, owner: str | None = None) -> Iterator[SmallDisk]:
    """A tmpfs of `size_mb` MiB mounted at `path` (created if needed), belonging to `owner`
    (a user name) if given; always unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    if os.path.ismount(path):
        raise MountError(f"{path} is already a mount point; refusing to mount over it")
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m{_owner_options(owner)}", "tmpfs", path],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise MountError(
            f"cannot mount a {size_mb} MiB tmpfs at {path} for the disk-full fault (needs root "
            f"with CAP_SYS_ADMIN): mount exited {result.returncode}: {result.stderr.strip()}"
        )
    try:
        if owner is not None:
            # Servers running as `owner` must be able to reach the mount point.
            for parent in path.parents:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    parent.chmod(mode | 0o001)
        yield SmallDisk(path=path, size_bytes=size_mb << 20)
    finally:
        _umount(path)
