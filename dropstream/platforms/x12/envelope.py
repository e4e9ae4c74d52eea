"""The X12 interchange envelope: delimiters, segments, ISA/GS/ST/SE/GE/IEA (specs §1, §7).

(specs = specs/x12-warehouse.md throughout this package.)

Reading (``parse_interchange``) never raises: it returns an ``Interchange`` whose ``reasons``
(interchange level), group ``errors`` (AK905 codes) and set ``errors`` (AK502 codes) say what is
wrong, in words and in 997 codes, while the good groups and sets stay usable.

- Delimiters come from each ISA (§1.2): element separator = character 4, component separator =
  ISA16, segment terminator = the character after ISA16. The ISA must be fixed width: every
  separator at its fixed offset, and the terminator's first occurrence at offset 105 (§7.1).
  A delimiter that is a letter, a digit or a space, or two equal delimiters, is refused.
- A UTF-8 byte-order mark, whitespace before the ISA and CR/LF around terminators are tolerated
  (§0). Segment ids are case-sensitive: X12 ids are upper case, so ``isa`` is "not an X12
  interchange" and a lower-case id inside a set is an unrecognized segment (AK304 1); data values
  keep their case (lower case is in the extended character set).
- Bytes are decoded as UTF-8, or as Latin-1 when they are not valid UTF-8, so reading never fails
  on encoding; the hub's own files are ASCII.
- One interchange per file (§1.1): text after the IEA is a reason to refuse the interchange.
- Duplicate ISA13/GS06 already seen (§1.4) needs the hub's ledger, so it is the caller's check:
  ``Interchange.control_number`` and each ``FunctionalGroup.control_number`` are exposed for it.
  Nor does the codec compare ISA06/ISA08/ISA15 with the partner's ids or test/production mode;
  the adapter knows those and has them on ``Interchange``.

Writing (``write_interchange``) takes segments as tuples of strings, trims trailing empty
elements (§7.3), pads only the ISA (§1.2) and refuses (``X12EnvelopeError``) any element that
still holds a delimiter or a character outside the profile's character set, so it can never
produce a broken interchange. ``clean_text`` and ``identifier_problem`` are the encoders' rules
for free text and identifiers (§7.4):

- free text is transliterated to ASCII (NFKD without accents, plus a small table: ß → ss,
  Æ → AE, ø → o, Ł → L, typographic quotes and dashes …); delimiters in use, ``* ~ >`` always,
  control characters and line breaks become spaces; a character with no ASCII form becomes ``?``;
  runs of spaces collapse, the ends are trimmed, and the value is cut to the element's maximum;
- identifiers (order reference, SKU, PO, postal code, codes) are never altered: a non-ASCII
  character, a delimiter, a control character or a value over the maximum length is a problem
  the caller reports for that one order.

Character sets (X12.6): "extended" = upper and lower case letters, digits, space and
``! " & ' ( ) * + , - . / : ; ? = % @ [ ] _ { } \\ | < > ~ # $``; "basic" = upper case letters,
digits, space and ``! " & ' ( ) * + , - . / : ; ? =`` (free text is upper-cased). ``^`` and the
backtick are in neither (they are later releases' separators) and are replaced in free text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from dropstream.platforms.x12.codes import FUNCTIONAL_SETS
from dropstream.platforms.x12.profile import PartnerProfile

ISA_LENGTH = 106  # including the segment terminator (§1.2)
ISA_SEPARATOR_OFFSETS = (3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103)
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1)  # ISA01–ISA15; ISA16 is 1
ISA_VERSION = "00401"
GS_VERSION_PREFIX = "004010"
ENVELOPE_TAGS = frozenset({"ISA", "GS", "GE", "IEA", "ST", "SE"})
ALWAYS_RESERVED = frozenset("*~>")  # stripped from free text whatever the delimiters (§7.4)
MAX_CONTROL_NUMBER = 999_999_999

_BASIC = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !\"&'()*+,-./:;?=")
_EXTENDED = _BASIC | frozenset("abcdefghijklmnopqrstuvwxyz%@[]_{}\\|<>~#$")
_TAG = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_DIGITS = re.compile(r"[0-9]+")  # ASCII: \d also matches "٣" and "²"
_SPACES = re.compile(r" {2,}")
_TRANSLITERATION = str.maketrans({
    "ß": "ss", "Æ": "AE", "æ": "ae", "Ø": "O", "ø": "o", "Œ": "OE", "œ": "oe", "Ł": "L",
    "ł": "l", "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Þ": "Th", "þ": "th", "ı": "i",
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"',
    "«": '"', "»": '"', "–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-", "•": "-",
    "€": "EUR", "£": "GBP", "©": "(C)", "®": "(R)", "×": "x",
})


class X12EnvelopeError(ValueError):
    """Envelope values (ids, control numbers, delimiters) that cannot make a valid interchange."""


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The three separators of an 004010 interchange (no repetition separator before 00402)."""

    element: str = "*"
    component: str = ">"
    segment: str = "~"

    @property
    def reserved(self) -> frozenset[str]:
        """Characters free text may never carry: these delimiters and ``* ~ >``."""
        return ALWAYS_RESERVED | {self.element, self.component, self.segment}

    def problems(self) -> list[str]:
        found = []
        for label, char in (("element separator", self.element),
                            ("component separator", self.component),
                            ("segment terminator", self.segment)):
            if len(char) != 1:
                found.append(f"the {label} must be one character, not {char!r}")
            elif char.isalnum() or char == " " or not char.isascii():
                found.append(f"the {label} {char!r} is not a usable delimiter (a letter, a "
                             "digit, a space or a non-ASCII character)")
        if len({self.element, self.component, self.segment}) != 3:
            found.append("the element separator, component separator and segment terminator "
                         f"must differ ({self.element!r}, {self.component!r}, {self.segment!r})")
        return found


def profile_delimiters(profile: PartnerProfile) -> Delimiters:
    return Delimiters(profile.element_separator, profile.component_separator,
                      profile.segment_terminator)


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: ``tag`` and its elements (``elements[0]`` is XX01; composites kept raw).

    ``position`` is the segment's place in its transaction set (ST = 1, as AK302 counts; 0 for
    envelope segments) and ``index`` its place in the file (ISA = 1).
    """

    tag: str
    elements: tuple[str, ...]
    position: int = 0
    index: int = 0

    def get(self, number: int) -> str:
        """Element ``number`` (1-based), '' when absent."""
        return self.elements[number - 1] if 0 < number <= len(self.elements) else ""


@dataclass(frozen=True, slots=True)
class ElementError:
    """An AK4: element ``position`` (and ``component``) of a segment, with AK403 ``code``."""

    position: int
    code: str
    reference: int | None = None  # data element reference number (AK402)
    component: int | None = None
    bad_value: str = ""


@dataclass(frozen=True, slots=True)
class SegmentError:
    """An AK3: segment ``segment_id`` at ``position`` in its set, with AK304 ``code``."""

    segment_id: str
    position: int
    code: str = "8"
    loop_id: str = ""
    elements: tuple[ElementError, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TransactionSet:
    """ST … SE: ``segments`` are the ones between (ST and SE themselves are checked here).

    ``errors`` are AK502 codes the envelope found (trailer missing, control numbers, counts);
    ``reasons`` say the same in words.
    """

    set_id: str
    control_number: str
    segments: tuple[Segment, ...]
    errors: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    index: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True)
class FunctionalGroup:
    """GS … GE. ``errors`` are AK905 codes; ``included`` is GE01 as received (None if unread)."""

    functional_id: str
    sender: str
    receiver: str
    date: str
    time: str
    control_number: str
    version: str
    sets: tuple[TransactionSet, ...]
    included: int | None = None
    errors: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    index: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and not self.reasons


@dataclass(frozen=True, slots=True)
class Interchange:
    """ISA … IEA. Non-empty ``reasons`` means the interchange as a whole is refused.

    When the ISA itself cannot be read, ``delimiters`` is None and there are no groups.
    """

    delimiters: Delimiters | None
    sender_qualifier: str = ""
    sender_id: str = ""
    receiver_qualifier: str = ""
    receiver_id: str = ""
    created_at: datetime | None = None
    control_number: str = ""
    version: str = ""
    usage: str = ""
    acknowledgment_requested: str = ""
    groups: tuple[FunctionalGroup, ...] = ()
    reasons: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.reasons


@dataclass(frozen=True, slots=True)
class Envelope:
    """What the caller decides for one outbound interchange; the codec never invents these.

    ``first_set_control_number`` is ST02 of the first set; the next sets count up from it.
    ``created_at`` is written as given (ISA09 YYMMDD, ISA10 HHMM, GS04 CCYYMMDD, GS05 HHMM).
    """

    sender_id: str
    receiver_id: str
    interchange_control_number: int
    group_control_number: int
    created_at: datetime
    usage: str = "P"
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    group_sender: str = ""  # GS02; empty = sender_id
    group_receiver: str = ""  # GS03; empty = receiver_id
    first_set_control_number: int = 1
    acknowledgment_requested: str = "0"  # ISA14: 0 none, 1 TA1 requested


# --------------------------------------------------------------------------------------------
# Text rules for writing (§7.3–§7.5)
# --------------------------------------------------------------------------------------------


def transliterate(text: str) -> str:
    """``text`` in ASCII where a close form exists; other characters are left for the caller."""
    text = text.translate(_TRANSLITERATION)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(
        _TRANSLITERATION)


def allowed_characters(profile: PartnerProfile) -> frozenset[str]:
    return _BASIC if profile.character_set == "basic" else _EXTENDED


def clean_text(value: str, max_length: int | None, profile: PartnerProfile) -> str:
    """Free text as the writer sends it: ASCII, no delimiters or controls, at most ``max_length``
    characters (None = no limit).

    Returns '' when nothing printable is left (the writer then omits the element).
    """
    allowed = allowed_characters(profile)
    reserved = profile_delimiters(profile).reserved
    text = transliterate(value)
    if profile.character_set == "basic":
        text = text.upper()
    out = []
    for ch in text:
        if ch in reserved or unicodedata.category(ch)[0] in "CZ":
            out.append(" ")  # delimiters, controls, line and paragraph separators, odd spaces
        elif ch in allowed:
            out.append(ch)
        else:
            out.append(" " if ch in "^`" else "?")
    cleaned = _SPACES.sub(" ", "".join(out)).strip()
    return cleaned if max_length is None else cleaned[:max_length].rstrip()


def identifier_problem(value: str, label: str, max_length: int, profile: PartnerProfile,
                       min_length: int = 1) -> str | None:
    """Why ``value`` cannot be sent unchanged as an identifier, or None when it can."""
    if len(value) < min_length:
        return (f"{label} is required" if not value
                else f"{label} {value!r} is shorter than {min_length} characters")
    if len(value) > max_length:
        return f"{label} {value!r} is longer than {max_length} characters"
    reserved = profile_delimiters(profile).reserved
    allowed = allowed_characters(profile)
    for ch in value:
        if ch in reserved:
            return f"{label} {value!r} contains the X12 delimiter {ch!r}"
        if ch not in allowed or ch in "\r\n\t":
            return (f"{label} {value!r} contains {ch!r}, which is not in the X12 "
                    f"{profile.character_set} character set")
    if value != value.strip():
        return f"{label} {value!r} starts or ends with a space"
    return None


def format_decimal(value: Decimal | int) -> str:
    """A quantity or weight: no thousands separators, decimals only when not whole (§7.5)."""
    number = Decimal(value)
    if number == number.to_integral_value():
        return str(int(number))
    text = format(number.normalize(), "f")
    return text


def format_date(value: date) -> str:
    """CCYYMMDD (GS04, G62, W06 … – §7.5)."""
    return value.strftime("%Y%m%d")


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

SegmentValues = Sequence[str]  # (tag, XX01, XX02, …)


def join_segment(values: SegmentValues, delimiters: Delimiters) -> str:
    """``TAG*E1*E2`` with trailing empty elements trimmed (§7.3) and no terminator."""
    parts = list(values)
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return delimiters.element.join(parts)


def _check_written(values: SegmentValues, delimiters: Delimiters,
                   profile: PartnerProfile) -> None:
    allowed = allowed_characters(profile)
    for number, value in enumerate(values[1:], start=1):
        for ch in value:
            if ch in (delimiters.element, delimiters.segment) or ch not in allowed:
                raise X12EnvelopeError(f"{values[0]}{number:02d} value {value!r} holds "
                                       f"{ch!r}; it would break the interchange")


def envelope_problems(envelope: Envelope, profile: PartnerProfile, set_count: int) -> list[str]:
    """Why ``envelope`` cannot head an interchange of ``set_count`` sets (empty when it can)."""
    found = profile_delimiters(profile).problems()
    if profile.segment_suffix not in ("", "\n", "\r\n"):
        found.append(f"segment suffix must be empty, LF or CRLF, not {profile.segment_suffix!r}")
    for label, value, low, high in (
            ("ISA05 sender qualifier", envelope.sender_qualifier, 2, 2),
            ("ISA07 receiver qualifier", envelope.receiver_qualifier, 2, 2),
            ("ISA06 sender id", envelope.sender_id, 1, 15),
            ("ISA08 receiver id", envelope.receiver_id, 1, 15),
            ("GS02 application sender", envelope.group_sender or envelope.sender_id, 2, 15),
            ("GS03 application receiver", envelope.group_receiver or envelope.receiver_id, 2, 15),
            ("GS08 version", profile.gs08_version, 1, 12)):
        problem = identifier_problem(value, label, high, profile, min_length=low)
        if problem:
            found.append(problem)
    if envelope.usage not in ("P", "T"):
        found.append(f"ISA15 usage indicator must be P or T, not {envelope.usage!r}")
    if envelope.acknowledgment_requested not in ("0", "1"):
        found.append("ISA14 acknowledgment requested must be 0 or 1")
    for label, number in (("ISA13 interchange control number",
                           envelope.interchange_control_number),
                          ("GS06 group control number", envelope.group_control_number),
                          ("ST02 first set control number", envelope.first_set_control_number)):
        if not 1 <= number <= MAX_CONTROL_NUMBER:
            found.append(f"{label} must be between 1 and {MAX_CONTROL_NUMBER}, not {number}")
    if envelope.first_set_control_number + set_count - 1 > MAX_CONTROL_NUMBER:
        found.append("ST02 control numbers would exceed 9 digits")
    if set_count < 1:
        found.append("an interchange needs at least one transaction set")
    return found


def isa_segment(envelope: Envelope, profile: PartnerProfile) -> str:
    """The 105 characters of the ISA (the terminator is added by the caller)."""
    created = envelope.created_at
    fields = ("ISA", "00", " " * 10, "00", " " * 10, envelope.sender_qualifier,
              envelope.sender_id.ljust(15), envelope.receiver_qualifier,
              envelope.receiver_id.ljust(15), created.strftime("%y%m%d"),
              created.strftime("%H%M"), "U", ISA_VERSION,
              f"{envelope.interchange_control_number:09d}", envelope.acknowledgment_requested,
              envelope.usage, profile.component_separator)
    return profile.element_separator.join(fields)


def write_interchange(envelope: Envelope, profile: PartnerProfile, functional_id: str,
                      bodies: Sequence[Sequence[SegmentValues]]) -> bytes:
    """One interchange with one group of ``functional_id`` holding one set per body.

    Each body lists the segments between ST and SE. Raises X12EnvelopeError when the envelope
    values are invalid or a segment would hold a delimiter.
    """
    problems = envelope_problems(envelope, profile, len(bodies))
    set_id = FUNCTIONAL_SETS.get(functional_id)
    if set_id is None:
        problems.append(f"unknown functional identifier {functional_id!r}")
    if problems:
        raise X12EnvelopeError("; ".join(problems))
    delimiters = profile_delimiters(profile)
    created = envelope.created_at
    group_number = str(envelope.group_control_number)
    segments: list[SegmentValues] = [
        ("GS", functional_id, envelope.group_sender or envelope.sender_id,
         envelope.group_receiver or envelope.receiver_id, format_date(created),
         created.strftime("%H%M"), group_number, "X", profile.gs08_version)]
    for offset, body in enumerate(bodies):
        control = f"{envelope.first_set_control_number + offset:04d}"
        segments.append(("ST", set_id or "", control))
        segments.extend(body)
        segments.append(("SE", str(len(body) + 2), control))
    segments.append(("GE", str(len(bodies)), group_number))
    segments.append(("IEA", "1", f"{envelope.interchange_control_number:09d}"))
    end = delimiters.segment + profile.segment_suffix
    lines = [isa_segment(envelope, profile)]
    for values in segments:
        _check_written(values, delimiters, profile)
        lines.append(join_segment(values, delimiters))
    text = end.join(lines) + end
    if len(lines[0]) + 1 != ISA_LENGTH:
        raise X12EnvelopeError("the ISA would not be 106 characters")
    return text.encode("ascii")


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """Text of an inbound file: BOM dropped, UTF-8 or else Latin-1 (never fails)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def split_components(value: str, delimiters: Delimiters) -> tuple[str, ...]:
    return tuple(value.split(delimiters.component))


def _read_isa(text: str) -> tuple[Delimiters | None, list[str], list[str]]:
    """(delimiters, ISA01–ISA16, reasons); delimiters None when the ISA cannot be read."""
    if not text.startswith("ISA"):
        start = text[:20].strip()
        return None, [], [("empty file" if not start else
                           f"not an X12 interchange: it starts with {start[:10]!r}, not ISA")]
    if len(text) < ISA_LENGTH:
        return None, [], [f"the ISA is truncated: the file has {len(text)} characters, the ISA "
                          f"alone needs {ISA_LENGTH}"]
    element, component, terminator = text[3], text[104], text[105]
    delimiters = Delimiters(element, component, terminator)
    problems = delimiters.problems()
    if problems:
        return None, [], ["unknown delimiters in the ISA: " + "; ".join(problems)]
    offsets = [i for i, ch in enumerate(text[:105]) if ch == element]
    if tuple(offsets) != ISA_SEPARATOR_OFFSETS:
        return None, [], [f"the ISA is not fixed width: element separators {element!r} at "
                          f"offsets {offsets[:20]}, expected {list(ISA_SEPARATOR_OFFSETS)}, so "
                          "character 106 is not a reliable segment terminator"]
    first = text.find(terminator)
    if first != 105:
        return None, [], [f"character 106 {terminator!r} is not the first segment terminator: "
                          f"it already appears at character {first + 1} inside the ISA"]
    fields = text[:105].split(element)[1:]
    return delimiters, fields, []


def _isa_problems(fields: list[str]) -> list[str]:
    found = []
    for number, (value, width) in enumerate(zip(fields, ISA_WIDTHS, strict=False), start=1):
        if len(value) != width:
            found.append(f"ISA{number:02d} {value!r} is not {width} characters wide")
    date_text, time_text = fields[8], fields[9]
    if _parse_date(date_text, short=True) is None:
        found.append(f"ISA09 {date_text!r} is not a valid YYMMDD date")
    if _parse_time(time_text) is None:
        found.append(f"ISA10 {time_text!r} is not a valid HHMM time")
    if fields[11] != ISA_VERSION:
        found.append(f"ISA12 version {fields[11]!r} is not supported (only {ISA_VERSION})")
    if not _DIGITS.fullmatch(fields[12]):
        found.append(f"ISA13 control number {fields[12]!r} is not 9 digits")
    if fields[13] not in ("0", "1"):
        found.append(f"ISA14 {fields[13]!r} is not 0 or 1")
    if fields[14] not in ("P", "T"):
        found.append(f"ISA15 usage indicator {fields[14]!r} is not P or T")
    return found


def _parse_date(text: str, *, short: bool = False) -> date | None:
    if not _DIGITS.fullmatch(text) or len(text) != (6 if short else 8):
        return None
    try:
        return datetime.strptime(text, "%y%m%d" if short else "%Y%m%d").date()
    except ValueError:
        return None


def _parse_time(text: str) -> time | None:
    if not _DIGITS.fullmatch(text) or not 4 <= len(text) <= 8 or len(text) == 5:
        return None
    hour, minute = int(text[:2]), int(text[2:4])
    second = int(text[4:6]) if len(text) >= 6 else 0
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def parse_date(text: str) -> date | None:
    """A CCYYMMDD date, or None."""
    return _parse_date(text)


def parse_time(text: str) -> time | None:
    """An HHMM[SS[D..]] time (fractions dropped), or None."""
    return _parse_time(text)


def parse_decimal(text: str) -> Decimal | None:
    """An X12 R/N0 value (optional minus, optional decimal point), or None."""
    if not re.fullmatch(r"-?(\d+\.?\d*|\.\d+)", text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes it
        return None


def _segments(text: str, delimiters: Delimiters) -> tuple[list[Segment], list[str]]:
    pieces = text[ISA_LENGTH:].split(delimiters.segment)
    reasons = []
    tail = pieces.pop() if pieces else ""
    if tail.strip():
        reasons.append(f"the file ends without a segment terminator after {tail.strip()[:20]!r}")
    isa = Segment("ISA", tuple(text[:105].split(delimiters.element)[1:]), index=1)
    segments = [isa]
    for piece in pieces:
        raw = piece.strip("\r\n")
        if not raw.strip():
            continue  # blank line between segments
        tag, *elements = raw.split(delimiters.element)
        segments.append(Segment(tag, tuple(elements), index=len(segments) + 1))
    return segments, reasons


def _read_set(segments: list[Segment], start: int, expected: str | None,
              seen: set[str]) -> tuple[TransactionSet, int]:
    """The set whose ST is at ``start`` (or, when it is not an ST, the damaged run from there)."""
    head = segments[start]
    orphan = head.tag != "ST"
    body: list[Segment] = []
    trailer: Segment | None = None
    k = start if orphan else start + 1
    while k < len(segments):
        seg = segments[k]
        if seg.tag == "SE":
            trailer = seg
            k += 1
            break
        if seg.tag in ("ST", "GE", "GS", "IEA", "ISA"):
            break
        body.append(Segment(seg.tag, seg.elements, position=k - start + 1, index=seg.index))
        k += 1
    errors: list[str] = []
    reasons: list[str] = []
    if orphan:
        set_id = expected or ""
        control = trailer.get(2) if trailer else ""
        errors.append("6")
        reasons.append(f"segment {head.tag} at file segment {head.index} is not inside a "
                       "transaction set (its ST is missing or damaged)")
    else:
        set_id, control = head.get(1), head.get(2)
        if not re.fullmatch(r"\d{3}", set_id):
            errors.append("6")
            reasons.append(f"ST01 {set_id!r} is not a transaction set identifier")
        elif expected is not None and set_id != expected:
            errors.append("6")
            reasons.append(f"ST01 {set_id} does not belong in a group of {expected} sets")
        if not 4 <= len(control) <= 9:
            errors.append("7")
            reasons.append(f"ST02 control number {control!r} is not 4 to 9 characters")
        elif control in seen:
            errors.append("23")
            reasons.append(f"ST02 control number {control} is used twice in the group")
        seen.add(control)
    if trailer is None:
        errors.append("2")
        reasons.append(f"transaction set {control or '?'} has no SE trailer")
    else:
        if not orphan and trailer.get(2) != control:
            errors.append("3")
            reasons.append(f"ST02 {control!r} and SE02 {trailer.get(2)!r} do not match")
        counted = len(body) + (1 if orphan else 2)
        if trailer.get(1) != str(counted) or not _DIGITS.fullmatch(trailer.get(1)):
            errors.append("4")
            reasons.append(f"SE01 says {trailer.get(1)!r} segments, transaction set "
                           f"{control or '?'} has {counted}")
    return TransactionSet(set_id, control, tuple(body), tuple(dict.fromkeys(errors)),
                          tuple(reasons), head.index), k


def _read_group(segments: list[Segment], start: int) -> tuple[FunctionalGroup, int]:
    head = segments[start]
    functional_id, control = head.get(1), head.get(6)
    expected = FUNCTIONAL_SETS.get(functional_id)
    sets: list[TransactionSet] = []
    seen: set[str] = set()
    trailer: Segment | None = None
    k = start + 1
    while k < len(segments):
        seg = segments[k]
        if seg.tag == "GE":
            trailer = seg
            k += 1
            break
        if seg.tag in ("GS", "IEA", "ISA"):
            break
        transaction_set, k = _read_set(segments, k, expected, seen)
        sets.append(transaction_set)
    errors: list[str] = []
    reasons: list[str] = []
    if len(head.elements) < 8:
        reasons.append(f"GS has {len(head.elements)} elements, 8 are required")
    if expected is None:
        errors.append("1")
        reasons.append(f"GS01 {functional_id!r} is not a functional group the hub handles")
    if not head.get(8).startswith(GS_VERSION_PREFIX):
        errors.append("2")
        reasons.append(f"GS08 version {head.get(8)!r} is not {GS_VERSION_PREFIX}")
    if not (_DIGITS.fullmatch(control) and len(control) <= 9):
        errors.append("6")
        reasons.append(f"GS06 group control number {control!r} is not 1 to 9 digits")
    included: int | None = None
    if trailer is None:
        errors.append("3")
        reasons.append(f"functional group {control} has no GE trailer")
    else:
        if trailer.get(2).lstrip("0") != control.lstrip("0") or not trailer.get(2):
            errors.append("4")
            reasons.append(f"GS06 {control!r} and GE02 {trailer.get(2)!r} do not match")
        if _DIGITS.fullmatch(trailer.get(1)) and len(trailer.get(1)) <= 6:  # GE01 is N0 1/6
            included = int(trailer.get(1))
        if included != len(sets):
            errors.append("5")
            reasons.append(f"GE01 says {trailer.get(1)!r} transaction sets, group {control} "
                           f"has {len(sets)}")
    group = FunctionalGroup(functional_id, head.get(2), head.get(3), head.get(4), head.get(5),
                            control, head.get(8), tuple(sets), included,
                            tuple(dict.fromkeys(errors)), tuple(reasons), head.index)
    return group, k


def parse_interchange(data: bytes) -> Interchange:
    """Split and check one interchange; never raises (see the module docstring)."""
    text = decode(data).lstrip()
    if "\x00" in text:
        # No X12 character set holds NUL and a database's text cannot: refused whole, before
        # any of its values reach a reason, an acknowledgment or a shipment.
        return Interchange(None, reasons=(f"the file holds a NUL character (at character "
                                          f"{text.index(chr(0))}); X12 text never does",))
    delimiters, fields, reasons = _read_isa(text)
    if delimiters is None:
        return Interchange(None, reasons=tuple(reasons))
    reasons.extend(_isa_problems(fields))
    segments, tail_reasons = _segments(text, delimiters)
    groups: list[FunctionalGroup] = []
    trailer: Segment | None = None
    k = 1
    while k < len(segments):
        seg = segments[k]
        if seg.tag == "GS":
            group, k = _read_group(segments, k)
            groups.append(group)
            continue
        if seg.tag == "IEA":
            trailer = seg
            k += 1
            break
        reasons.append(f"segment {seg.tag} at file segment {seg.index} is outside a "
                       "functional group")
        k += 1
    if k < len(segments):
        extra = segments[k]
        reasons.append("a second interchange follows the IEA (one per file)" if
                        extra.tag == "ISA" else
                        f"segment {extra.tag} at file segment {extra.index} follows the IEA")
    reasons.extend(tail_reasons)
    control = fields[12]
    if trailer is None:
        reasons.append("the IEA trailer is missing")
    else:
        if trailer.get(2) != control:
            reasons.append(f"ISA13 {control!r} and IEA02 {trailer.get(2)!r} do not match")
        if trailer.get(1) != str(len(groups)):
            reasons.append(f"IEA01 says {trailer.get(1)!r} functional groups, the interchange "
                           f"has {len(groups)}")
    created_date = _parse_date(fields[8], short=True)
    created_time = _parse_time(fields[9])
    created = (datetime.combine(created_date, created_time)
               if created_date and created_time else None)
    return Interchange(delimiters, fields[4], fields[5].rstrip(), fields[6], fields[7].rstrip(),
                       created, control, fields[11], fields[14], fields[13], tuple(groups),
                       tuple(reasons))


def valid_tag(tag: str) -> bool:
    """Whether ``tag`` is shaped like an X12 segment id (2–3 upper-case letters/digits)."""
    return bool(_TAG.fullmatch(tag))


def segment_texts(segments: Iterable[Segment], delimiters: Delimiters) -> list[str]:
    """Segments back as text (for messages and tests): ``TAG*E1*E2`` each."""
    return [join_segment((seg.tag, *seg.elements), delimiters) for seg in segments]
