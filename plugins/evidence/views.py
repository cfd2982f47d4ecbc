"""A seekable, read-only file over bytes held elsewhere (an S3 object read by range, the kept tail of an upload):
the position and the seeking are this class's, the reading its subclass's (`readinto`, from `self._pos`)."""

from __future__ import annotations

import io


class SeekableView(io.RawIOBase):
    """A file of `size` bytes: subclasses read from `self._pos` in `readinto` and move it on."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise OSError("negative seek position")  # what a real file says: zipfile expects it
        self._pos = base + offset
        return self._pos
