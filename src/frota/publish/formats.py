"""How a user's export is written, and a byte stream of it the contract's reader can take.

Excel and other tools write CSVs the reader (`frota.contract.tabular`, which splits at `\\n`
and takes ASCII-compatible encodings only) would misread: a first line `sep=;` naming the
delimiter, UTF-16 ('Unicode text', with or without a BOM), classic-Mac CR-only line ends.
`sniff` says which; `normalised` hands the reader the same file as UTF-8 with `\\n` line ends
and the `sep=` line left blank, so every line keeps its number.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from frota.contract.tabular import UTF8_BOM
from frota.errors import BadInputError
from frota.i18n import _

_SNIFF_BYTES = 1 << 20
DELIMITERS = (",", ";", "\t", "|")  # in the order a tie is decided
_HEAD_BYTES = 64 * 1024
# Excel's "sep=;" first line (also quoted, as some tools write it).
_SEP_LINE = re.compile(r'^"?sep=(.)"?[,;]*$', re.IGNORECASE)


@dataclass(frozen=True)
class ExportFormat:
    """What a file turned out to be: its encoding and delimiter, and what needs normalising."""

    encoding: str  # as detected or given (utf-8-sig, cp1252, utf-16-le…)
    delimiter: str
    sep_line: bool = False  # the first line is Excel's `sep=X`
    cr_only: bool = False  # lines end in CR alone (classic Mac, some exporters)

    @property
    def ascii_compatible(self) -> bool:
        return _ascii_compatible(self.encoding)

    @property
    def reader_encoding(self) -> str:
        """The encoding the reader sees: UTF-8 when the stream is re-encoded."""
        return self.encoding if self.ascii_compatible else "utf-8"

    @property
    def needs_normalising(self) -> bool:
        return self.sep_line or self.cr_only or not self.ascii_compatible

    def describe(self) -> str:
        words = [self.encoding, _("delimiter {delimiter!r}").format(delimiter=self.delimiter)]
        if self.sep_line:
            words.append(_("'sep=' line"))
        if self.cr_only:
            words.append(_("CR line ends"))
        return ", ".join(words)


def _ascii_compatible(encoding: str) -> bool:
    return "\n\r,;".encode(encoding, errors="replace") == b"\n\r,;"


def known_encoding(name: str, file: str) -> str:
    """`name` if Python knows the codec; BadInputError naming the file otherwise."""
    try:
        codecs.lookup(name)
    except LookupError:
        raise BadInputError(
            _("unknown encoding {name!r}").format(name=name),
            file=file,
            hint=_("use utf-8, cp1252 (Excel on Windows) or latin-1"),
        ) from None
    return name


def detect_encoding(path: Path) -> str:
    """UTF-16 (by its BOM, or by the NUL bytes of text written without one); utf-8-sig for a
    UTF-8 BOM or a file that decodes as UTF-8; else cp1252 (Excel on Windows)."""
    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
        utf16 = _utf16(head)
        if utf16:
            return utf16
        if head.startswith(UTF8_BOM):
            return "utf-8-sig"  # a BOM says UTF-8: a bad byte later is an error, not cp1252
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := fh.read(_SNIFF_BYTES):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


def _utf16(head: bytes) -> str | None:
    """`utf-16` for a UTF-16 BOM; `utf-16-le`/`-be` when most odd/even bytes are NUL (the
    ASCII text of a header and dates, written two bytes a character)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = head[: len(head) - len(head) % 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.6 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.6 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _head_text(path: Path, encoding: str) -> str:
    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)


def sniff(path: Path, *, encoding: str | None = None, delimiter: str | None = None) -> ExportFormat:
    """The file's format; `encoding` / `delimiter` given by the user are taken as they are
    (a `sep=` line is still recognised and left out)."""
    enc = known_encoding(encoding, path.name) if encoding else detect_encoding(path)
    text = _head_text(path, enc).lstrip("\ufeff")
    cr_only = "\r" in text and "\n" not in text
    physical = re.split(r"\r\n|\r|\n", text)
    sep = _SEP_LINE.match(physical[0].strip())  # Excel writes it as the very first line
    lines = [line for line in physical[1 if sep else 0 :] if line.strip()]
    header = lines[0] if lines else ""
    sep_char = sep.group(1) if sep else None
    if delimiter is None:  # the sep= line's; else the header's most frequent (a tie: comma)
        delimiter = sep_char if sep_char in DELIMITERS else max(DELIMITERS, key=header.count)
    return ExportFormat(enc, delimiter, sep_line=bool(sep), cr_only=cr_only)


class _Normalised:
    """A read-only byte stream of the export as the reader takes it (see the module doc)."""

    def __init__(self, raw: BinaryIO, fmt: ExportFormat, file: str) -> None:
        self._raw = raw
        self._file = file
        self._fmt = fmt
        self._decoder = (
            None
            if fmt.ascii_compatible
            else codecs.getincrementaldecoder(fmt.encoding)(errors="strict")
        )
        self._first = True
        self._done = False

    def read(self, size: int = -1) -> bytes:
        while not self._done:
            block = self._raw.read(size)
            data = self._recoded(block, final=not block)
            if not block:
                self._done = True
            if self._fmt.cr_only:
                data = data.replace(b"\r", b"\n")
            if self._first and data:
                self._first = False
                data = self._blank_sep_line(data)
            if data:
                return data
        return b""

    def _recoded(self, block: bytes, *, final: bool) -> bytes:
        if self._decoder is None:
            return block
        try:
            text = self._decoder.decode(block, final=final)
        except UnicodeDecodeError as exc:
            raise BadInputError(
                _("bytes that are not valid {encoding}: {reason}").format(
                    encoding=self._fmt.encoding, reason=exc.reason
                ),
                file=self._file,
                hint=_("save the file again as 'CSV UTF-8'"),
            ) from None
        return text.lstrip("\ufeff").encode("utf-8") if text else b""

    def _blank_sep_line(self, data: bytes) -> bytes:
        """The `sep=` line's text removed, its line end kept (line numbers stay the file's)."""
        if not self._fmt.sep_line:
            return data
        bom = UTF8_BOM if data.startswith(UTF8_BOM) else b""
        end = data.find(b"\n")
        end = len(data) if end < 0 else end
        if end > 0 and data[end - 1 : end] == b"\r":
            end -= 1
        return bom + data[end:]


@contextmanager
def normalised(path: Path, fmt: ExportFormat) -> Iterator[BinaryIO]:
    """The file opened for the reader: as it is, or normalised when `fmt` needs it."""
    with open(path, "rb") as fh:
        yield cast(BinaryIO, _Normalised(fh, fmt, path.name)) if fmt.needs_normalising else fh
