"""The simulated warehouse's own X12 reader and writer (specs/x12-warehouse.md §1, §7).

Deliberately independent of the hub's EDI codec (never import ``dropstream.platforms``): the
simulator plays the trading partner, so a format bug must not be shared by both sides.

Reading (§1.2): delimiters come from the ISA of each interchange — element separator at index
3, component separator at index 104 (ISA16), segment terminator at index 105. CR/LF after a
terminator is tolerated, and so is a UTF-8 byte-order mark before ``ISA``. The reader is lenient
about structure (a missing SE or GE is kept as ``None``) so the envelope checks can answer with
a 997 instead of failing.

Writing (§7.3–7.5): trailing empty elements are trimmed, only the ISA is padded, delimiter and
control characters in values become spaces, quantities carry decimals only when not integers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

ISA_LENGTH = 106  # "ISA" + 16 elements + 16 separators + terminator (§1.2)
# Widths of ISA01…ISA16 (§1.2).
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
BOM = "\ufeff"


class X12Error(ValueError):
    """The data is not an X12 interchange this reader can split into segments."""


@dataclass(frozen=True)
class Delimiters:
    """Separators of one interchange. ``suffix`` follows each terminator (not part of X12)."""

    element: str = "*"
    component: str = ">"
    segment: str = "~"
    suffix: str = "\n"

    def __post_init__(self) -> None:
        chars = (self.element, self.component, self.segment)
        if any(len(ch) != 1 for ch in chars):
            raise ValueError("X12 delimiters are single characters")
        if len(set(chars)) != 3:
            raise ValueError("the element, component and segment delimiters must differ")
        if any(ch.isalnum() or ch == " " for ch in chars):
            raise ValueError("a delimiter cannot be a letter, a digit or a space")
        if self.suffix not in ("", "\n", "\r\n", "\r"):
            raise ValueError("the text after a segment terminator is none, LF, CR or CRLF")
        if self.suffix and self.segment in "\r\n":
            raise ValueError("a line-end terminator takes no extra line ending")


@dataclass(frozen=True)
class Segment:
    """One segment: ``tag`` and its elements; ``get(1)`` is the first element after the tag."""

    tag: str
    elements: tuple[str, ...] = ()

    def get(self, position: int) -> str:
        """Element ``position`` (1-based), or "" when the segment is shorter."""
        if 1 <= position <= len(self.elements):
            return self.elements[position - 1]
        return ""

    def components(self, position: int, delimiters: Delimiters) -> list[str]:
        return self.get(position).split(delimiters.component)


def segment(tag: str, *elements: object) -> Segment:
    """A segment from values; ``None`` becomes an empty element."""
    return Segment(tag, tuple("" if value is None else str(value) for value in elements))


@dataclass
class TransactionSet:
    """ST … SE. ``body`` is between them; ``se`` is None when the trailer is missing."""

    st: Segment
    body: list[Segment] = field(default_factory=list)
    se: Segment | None = None

    @property
    def set_id(self) -> str:
        return self.st.get(1)

    @property
    def control(self) -> str:
        return self.st.get(2)

    @staticmethod
    def position_of(body_index: int) -> int:
        """The AK302 position of ``body[body_index]`` (ST is 1)."""
        return body_index + 2


@dataclass
class Group:
    """GS … GE; ``stray`` holds segments found outside any transaction set."""

    gs: Segment
    sets: list[TransactionSet] = field(default_factory=list)
    ge: Segment | None = None
    stray: list[Segment] = field(default_factory=list)

    @property
    def functional_id(self) -> str:
        return self.gs.get(1)

    @property
    def control(self) -> str:
        return self.gs.get(6)


@dataclass
class Interchange:
    """ISA … IEA as read; ``problems`` lists envelope faults the 997 cannot express."""

    delimiters: Delimiters
    isa: Segment
    groups: list[Group] = field(default_factory=list)
    iea: Segment | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def sender(self) -> str:
        return self.isa.get(6).strip()

    @property
    def receiver(self) -> str:
        return self.isa.get(8).strip()

    @property
    def control(self) -> str:
        return self.isa.get(13)

    @property
    def usage(self) -> str:
        return self.isa.get(15)


# -- reading --------------------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """UTF-8 when it is, else Latin-1 (every byte maps to one character)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_delimiters(text: str) -> Delimiters:
    """The delimiters an ISA declares (§1.2); X12Error when ``text`` starts no valid ISA."""
    if not text.startswith("ISA"):
        raise X12Error("the file does not start with an ISA segment")
    if len(text) < ISA_LENGTH:
        raise X12Error(f"the ISA is cut short ({len(text)} of {ISA_LENGTH} characters)")
    element, component, terminator = text[3], text[104], text[105]
    fields = text[:ISA_LENGTH - 1].split(element)
    if len(fields) != 17 or tuple(len(value) for value in fields[1:]) != ISA_WIDTHS:
        raise X12Error("the ISA is not 106 fixed-width characters with 16 elements")
    after = text[ISA_LENGTH:ISA_LENGTH + 2]
    suffix = "\r\n" if after.startswith("\r\n") else after[:1] if after[:1] in "\r\n" else ""
    if terminator in "\r\n":
        suffix = ""
    try:
        return Delimiters(element, component, terminator, suffix)
    except ValueError as exc:
        raise X12Error(f"the ISA declares unusable delimiters: {exc}") from None


def split_segments(text: str, delimiters: Delimiters) -> list[Segment]:
    """Every segment of ``text``; CR/LF around terminators is dropped, empty pieces skipped."""
    segments = []
    for piece in text.split(delimiters.segment):
        piece = piece.strip("\r\n")
        if not piece:
            continue
        tag, *elements = piece.split(delimiters.element)
        segments.append(Segment(tag, tuple(elements)))
    return segments


def parse(data: bytes) -> Interchange:
    """Read one interchange; X12Error when the data is not one (no ISA, bad ISA, empty)."""
    text = decode(data)
    if text.startswith(BOM):
        text = text[1:]
    if not text.strip():
        raise X12Error("the file is empty")
    delimiters = read_delimiters(text)
    segments = split_segments(text, delimiters)
    interchange = Interchange(delimiters, segments[0])
    group: Group | None = None
    current: TransactionSet | None = None
    for seg in segments[1:]:
        if interchange.iea is not None:
            interchange.problems.append(f"segment {seg.tag} after IEA")
            continue
        if seg.tag == "GS":
            if group is not None:
                _close_set(group, current)
                interchange.problems.append("a GS opened before the previous GE")
            current = None
            group = Group(seg)
            interchange.groups.append(group)
        elif seg.tag == "ST":
            if group is None:
                interchange.problems.append("an ST outside any functional group")
                continue
            _close_set(group, current)
            current = TransactionSet(seg)
        elif seg.tag == "SE" and current is not None:
            current.se = seg
            _close_set(group, current)  # type: ignore[arg-type]
            current = None
        elif seg.tag == "GE" and group is not None:
            _close_set(group, current)
            current = None
            group.ge = seg
            group = None
        elif seg.tag == "IEA":
            if group is not None:
                _close_set(group, current)
                current, group = None, None
            interchange.iea = seg
        elif current is not None:
            current.body.append(seg)
        elif group is not None:
            group.stray.append(seg)
        else:
            interchange.problems.append(f"segment {seg.tag} outside any functional group")
    if group is not None:
        _close_set(group, current)
    _check_interchange_trailer(interchange)
    return interchange


def _close_set(group: Group, current: TransactionSet | None) -> None:
    if current is not None and current not in group.sets:
        group.sets.append(current)


def _check_interchange_trailer(interchange: Interchange) -> None:
    """IEA faults: reported as problems (a TA1 matter; the 997 has no code for them)."""
    iea = interchange.iea
    if iea is None:
        interchange.problems.append("the IEA trailer is missing")
        return
    if iea.get(2) != interchange.control:
        interchange.problems.append(f"IEA02 {iea.get(2)!r} differs from ISA13 "
                                    f"{interchange.control!r}")
    if iea.get(1) != str(len(interchange.groups)):
        interchange.problems.append(f"IEA01 {iea.get(1)!r} but {len(interchange.groups)} "
                                    "groups")


# -- writing --------------------------------------------------------------------------------------


def clean(value: str, delimiters: Delimiters) -> str:
    """``value`` with delimiters and control characters replaced by spaces (§7.4)."""
    banned = {delimiters.element, delimiters.component, delimiters.segment}
    return "".join(" " if ch in banned or ord(ch) < 32 or ord(ch) == 127 else ch
                   for ch in value)


def render_segment(seg: Segment, delimiters: Delimiters) -> str:
    """One segment with its terminator and suffix; trailing empty elements trimmed (§7.3)."""
    if seg.tag == "ISA":
        # Fixed width, and ISA16 is the component separator itself: never cleaned or trimmed.
        return delimiters.element.join(("ISA", *seg.elements)) + delimiters.segment + \
            delimiters.suffix
    values = [clean(value, delimiters) for value in seg.elements]
    while values and values[-1] == "":
        values.pop()
    return delimiters.element.join((seg.tag, *values)) + delimiters.segment + delimiters.suffix


def render(segments: Iterable[Segment], delimiters: Delimiters) -> str:
    return "".join(render_segment(seg, delimiters) for seg in segments)


def quantity(value: int | float | Decimal | str) -> str:
    """``3`` → "3", ``2.50`` → "2.5": no thousands separators, decimals only when needed."""
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def parse_quantity(text: str) -> Decimal | None:
    """An X12 R value, or None when it is not a plain decimal number."""
    if not text or any(ch not in "0123456789.-" for ch in text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


@dataclass(frozen=True)
class EnvelopeParties:
    """Who sends and receives: ISA05–08 and GS02/GS03, plus ISA14, ISA15 and GS08."""

    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    sender_app_id: str
    receiver_app_id: str
    usage: str = "T"
    version: str = "004010"
    ack_requested: str = "0"


@dataclass
class OutgoingSet:
    """A transaction set to envelope; ``se_count_offset`` ≠ 0 damages its SE01 on purpose."""

    set_id: str
    body: list[Segment]
    se_count_offset: int = 0


def isa_segment(parties: EnvelopeParties, when: datetime, control: int,
                delimiters: Delimiters) -> Segment:
    """A fixed-width ISA (§1.2); ids are cut/padded to 15 characters."""
    moment = when.astimezone(UTC)
    return Segment("ISA", (
        "00", " " * 10, "00", " " * 10,
        parties.sender_qualifier[:2].ljust(2), clean(parties.sender_id, delimiters)[:15].ljust(15),
        parties.receiver_qualifier[:2].ljust(2),
        clean(parties.receiver_id, delimiters)[:15].ljust(15),
        moment.strftime("%y%m%d"), moment.strftime("%H%M"), "U", "00401", f"{control:09d}",
        parties.ack_requested[:1] or "0", parties.usage[:1] or "T", delimiters.component))


def envelope(functional_id: str, sets: Sequence[OutgoingSet], *, parties: EnvelopeParties,
             when: datetime, isa13: int, gs06: int, delimiters: Delimiters) -> list[Segment]:
    """ISA/GS/ST…SE/GE/IEA around ``sets`` (one group; ST02 from 0001; §1.3, §1.4)."""
    moment = when.astimezone(UTC)
    out = [isa_segment(parties, when, isa13, delimiters),
           segment("GS", functional_id, parties.sender_app_id, parties.receiver_app_id,
                   moment.strftime("%Y%m%d"), moment.strftime("%H%M"), gs06, "X",
                   parties.version)]
    for number, outgoing in enumerate(sets, start=1):
        control = f"{number:04d}"
        out.append(segment("ST", outgoing.set_id, control))
        out.extend(outgoing.body)
        out.append(segment("SE", len(outgoing.body) + 2 + outgoing.se_count_offset, control))
    out.append(segment("GE", len(sets), gs06))
    out.append(segment("IEA", 1, f"{isa13:09d}"))
    return out
