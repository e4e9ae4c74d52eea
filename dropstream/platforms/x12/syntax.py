"""Element-level checks driven by the spec's tables (specs/x12-warehouse.md §2.2, §3.2, §4.2, §5.2).

Each segment the hub reads has a tuple of ``ElementSpec`` (requirement, type, min/max length,
data element reference number, and a code list where the spec gives a closed one). ``check_set``
turns violations into 997 AK3/AK4 findings (§7.2):

- a tag not shaped like an X12 segment id (lower case included) → AK304 1 unrecognized segment;
- too many elements → AK403 3; a missing mandatory element → 1; too short/long → 4/5;
  a non-numeric N0/N2/R → 6; a bad CCYYMMDD date → 8; a bad HHMM[SS] time → 9;
  a value outside the code list → 7 (with AK404 a copy of the bad value);
- a well-formed segment the hub does not read (W28, PAL, AMT …) is ignored with a warning (§7.6).

Lengths of N0/N2/R count digits only (no sign or decimal point), as X12 does. Relational
conditions (P0405, R0304 …) are checked by the set readers where they matter to the hub.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from dropstream.platforms.x12.envelope import (
    Delimiters,
    ElementError,
    Segment,
    SegmentError,
    TransactionSet,
    parse_date,
    parse_decimal,
    parse_time,
    split_components,
    valid_tag,
)

# W01/W12 units the hub's 940 uses and a warehouse is expected to know (§2.2 W0102, element 355)
UNIT_CODES = frozenset({"EA", "CA", "PL", "BX", "CT", "DZ", "PK", "PR", "LB", "KG"})
ORDER_STATUS_CODES = frozenset({"N", "F", "R", "T", "C"})  # W0501 (§2.2)


@dataclass(frozen=True, slots=True)
class ElementSpec:
    required: bool
    type: str  # ID, AN, N0, N2, R, DT, TM
    min_length: int
    max_length: int
    reference: int | None = None
    codes: frozenset[str] | None = None
    composite: bool = False  # check the first component only


def M(kind: str, low: int, high: int, ref: int | None = None,  # noqa: N802 - table notation
      codes: frozenset[str] | None = None, composite: bool = False) -> ElementSpec:
    return ElementSpec(True, kind, low, high, ref, codes, composite)


def O(kind: str, low: int, high: int, ref: int | None = None,  # noqa: N802, E743
      codes: frozenset[str] | None = None, composite: bool = False) -> ElementSpec:
    return ElementSpec(False, kind, low, high, ref, codes, composite)


C = O  # conditional: checked like optional here; the readers enforce the conditions they need

SegmentSpecs = Mapping[str, tuple[ElementSpec, ...]]

_PARTY: SegmentSpecs = {
    "N1": (M("ID", 2, 3, 98), C("AN", 1, 60, 93), C("ID", 1, 2, 66), C("AN", 2, 80, 67),
           O("ID", 2, 2, 706), O("ID", 2, 3, 98)),
    "N2": (M("AN", 1, 60, 93), O("AN", 1, 60, 93)),
    "N3": (M("AN", 1, 55, 166), O("AN", 1, 55, 166)),
    "N4": (O("AN", 2, 30, 19), O("ID", 2, 2, 156), O("ID", 3, 15, 116), O("ID", 2, 3, 26),
           O("ID", 1, 2, 309), O("AN", 1, 30, 310)),
    "PER": (M("ID", 2, 2, 366), O("AN", 1, 60, 93), C("ID", 2, 2, 365), C("AN", 1, 80, 364),
            C("ID", 2, 2, 365), C("AN", 1, 80, 364), C("ID", 2, 2, 365), C("AN", 1, 80, 364),
            O("AN", 1, 20, 443)),
    "N9": (M("ID", 2, 3, 128), C("AN", 1, 30, 127), C("AN", 1, 45, 369), O("DT", 8, 8, 373),
           O("TM", 4, 8, 337), O("ID", 2, 2, 623), O("AN", 1, 30, composite=True)),
    "G61": (M("ID", 2, 2, 366), M("AN", 1, 60, 93), C("ID", 2, 2, 365), C("AN", 1, 80, 364),
            O("AN", 1, 20, 443)),
    "G62": (C("ID", 2, 2, 432), C("DT", 8, 8, 373), C("ID", 1, 2, 176), C("TM", 4, 8, 337),
            O("ID", 2, 2, 623)),
    "NTE": (O("ID", 3, 3, 363), M("AN", 1, 80, 352)),
    "LX": (M("N0", 1, 6, 554),),
    "G69": (M("AN", 1, 45, 369),),
}

SPECS_940: SegmentSpecs = {
    **_PARTY,
    "W05": (M("ID", 1, 1, 473, ORDER_STATUS_CODES), M("AN", 1, 22, 324), O("AN", 1, 22, 324),
            O("N0", 6, 6), O("AN", 1, 22), O("ID", 2, 2), O("ID", 1, 2)),
    "W66": (M("ID", 2, 2, 146), M("ID", 1, 2, 91), O("ID", 1, 1), O("ID", 2, 2),
            O("AN", 1, 35, 387), O("ID", 2, 2), O("AN", 1, 30), C("ID", 1, 1), C("N2", 1, 15),
            O("ID", 2, 4, 140)),
    "W01": (M("R", 1, 15, 330), M("ID", 2, 2, 355, UNIT_CODES), C("AN", 12, 12, 438),
            C("ID", 2, 2, 235), C("AN", 1, 48, 234), O("ID", 2, 2, 235), C("AN", 1, 48, 234),
            O("AN", 2, 5), O("ID", 1, 3), C("ID", 1, 1), C("AN", 1, 30), O("N0", 6, 6),
            O("AN", 1, 12), O("ID", 2, 2), O("ID", 2, 2, 235), O("AN", 1, 48, 234)),
    "W76": (M("R", 1, 15, 330), O("R", 1, 10, 81), C("ID", 2, 2, 355), O("R", 1, 8, 183),
            C("ID", 2, 2, 355), O("R", 1, 10)),
}

SPECS_945: SegmentSpecs = {
    **_PARTY,
    "W06": (M("ID", 1, 1, 514), C("AN", 1, 22, 324), C("DT", 8, 8, 373), C("AN", 1, 30, 145),
            O("AN", 1, 12), O("AN", 1, 22, 324), O("AN", 1, 22), O("N0", 6, 6), O("AN", 1, 30),
            O("AN", 1, 30), O("AN", 1, 30), O("AN", 1, 30)),
    "W27": (M("ID", 1, 2, 91), C("ID", 2, 4, 140), C("AN", 1, 35, 387), O("ID", 2, 2, 146),
            O("ID", 2, 2), O("AN", 1, 4), O("AN", 1, 10), O("ID", 2, 2), O("ID", 2, 3),
            O("ID", 2, 2)),
    "MAN": (M("ID", 1, 2, 88), M("AN", 1, 48, 87), O("AN", 1, 48, 87), C("ID", 1, 2, 88),
            C("AN", 1, 48, 87), O("AN", 1, 48, 87)),
    "W12": (M("ID", 2, 2, 368), O("R", 1, 15, 330), O("R", 1, 10, 382), O("R", 1, 9),
            O("ID", 2, 2, 355), C("AN", 12, 12, 438), C("ID", 2, 2, 235), C("AN", 1, 48, 234),
            O("AN", 1, 12), C("R", 1, 10, 81), C("ID", 1, 2), C("ID", 1, 1), C("R", 1, 10, 81),
            C("ID", 1, 2), C("ID", 1, 1), O("AN", 12, 12, 438), O("ID", 2, 2, 235),
            O("AN", 1, 48, 234), O("ID", 2, 2), O("ID", 1, 1), O("ID", 2, 2, 235),
            O("AN", 1, 48, 234)),
    "W03": (M("R", 1, 10, 382), O("R", 1, 10, 81), C("ID", 2, 2, 355), O("R", 1, 8, 183),
            C("ID", 2, 2, 355), O("N0", 1, 7), O("ID", 2, 2, 355)),
}

_LIN_PAIRS = tuple(spec for _ in range(14) for spec in (C("ID", 2, 2, 235), C("AN", 1, 48, 234)))

SPECS_846: SegmentSpecs = {
    **_PARTY,
    "BIA": (M("ID", 2, 2, 353), M("ID", 2, 2, 755), M("AN", 1, 30, 127), M("DT", 8, 8, 373),
            O("TM", 4, 8, 337), O("ID", 1, 2)),
    "DTM": (M("ID", 3, 3, 374), C("DT", 8, 8, 373), C("TM", 4, 8, 337), O("ID", 2, 2, 623),
            O("ID", 2, 3), O("AN", 1, 35)),
    "REF": (M("ID", 2, 3, 128), C("AN", 1, 30, 127), C("AN", 1, 80, 352),
            O("AN", 1, 30, composite=True)),
    "LIN": (O("AN", 1, 20, 350), M("ID", 2, 2, 235), M("AN", 1, 48, 234), *_LIN_PAIRS),
    "PID": (M("ID", 1, 1, 349), O("ID", 2, 3, 750), C("ID", 2, 2, 559), C("AN", 1, 12, 751),
            C("AN", 1, 80, 352), O("ID", 2, 2), O("ID", 1, 2), O("ID", 1, 1), O("ID", 2, 3)),
    "QTY": (M("ID", 2, 2, 673), C("R", 1, 15, 380), O("ID", 2, 2, 355, composite=True),
            C("AN", 1, 30)),
    "CTT": (M("N0", 1, 6, 354), O("R", 1, 10, 347), C("R", 1, 10, 81), C("ID", 2, 2, 355),
            C("R", 1, 8, 183), C("ID", 2, 2, 355), O("AN", 1, 80, 352)),
}

SPECS_997: SegmentSpecs = {
    "AK1": (M("ID", 2, 2, 479), M("N0", 1, 9, 28)),
    "AK2": (M("ID", 3, 3, 143), M("AN", 4, 9, 329)),
    "AK3": (M("ID", 2, 3, 721), M("N0", 1, 6, 719), O("AN", 1, 6, 447), O("ID", 1, 3, 720)),
    "AK4": (M("N0", 1, 2, 722, composite=True), O("N0", 1, 4, 725), M("ID", 1, 3, 723),
            O("AN", 1, 99, 724)),
    "AK5": (M("ID", 1, 1, 717), O("ID", 1, 3, 718), O("ID", 1, 3, 718), O("ID", 1, 3, 718),
            O("ID", 1, 3, 718), O("ID", 1, 3, 718)),
    "AK9": (M("ID", 1, 1, 715), M("N0", 1, 6, 97), M("N0", 1, 6, 123), M("N0", 1, 6, 2),
            O("ID", 1, 3, 716), O("ID", 1, 3, 716), O("ID", 1, 3, 716), O("ID", 1, 3, 716),
            O("ID", 1, 3, 716)),
}

SPECS: Mapping[str, SegmentSpecs] = {"940": SPECS_940, "945": SPECS_945, "846": SPECS_846,
                                     "997": SPECS_997}

_INTEGER = re.compile(r"-?[0-9]+")


def _element_error(number: int, value: str, spec: ElementSpec) -> ElementError | None:
    def error(code: str) -> ElementError:
        return ElementError(number, code, spec.reference, None, value)

    if spec.type in ("DT", "TM"):
        ok = parse_date(value) if spec.type == "DT" else parse_time(value)
        return None if ok else error("8" if spec.type == "DT" else "9")
    if spec.type in ("N0", "N2", "R"):
        numeric = (_INTEGER.fullmatch(value) is not None if spec.type != "R"
                   else parse_decimal(value) is not None)
        if not numeric:
            return error("6")
        length = sum(ch.isdigit() for ch in value)
    else:
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            return error("6")
        length = len(value)
    if length < spec.min_length:
        return error("4")
    if length > spec.max_length:
        return error("5")
    if spec.codes is not None and value not in spec.codes:
        return error("7")
    return None


def check_segment(segment: Segment, specs: tuple[ElementSpec, ...],
                  delimiters: Delimiters) -> SegmentError | None:
    """The AK3 (with its AK4s) for ``segment``, or None when its elements are valid."""
    errors: list[ElementError] = []
    if len(segment.elements) > len(specs):
        extra = len(specs) + 1
        errors.append(ElementError(extra, "3", None, None, segment.get(extra)))
    for number, spec in enumerate(specs, start=1):
        value = segment.get(number)
        if spec.composite and value:
            value = split_components(value, delimiters)[0]
        if not value:
            if spec.required:
                errors.append(ElementError(number, "1", spec.reference))
            continue
        found = _element_error(number, value, spec)
        if found:
            errors.append(found)
    if not errors:
        return None
    return SegmentError(segment.tag, segment.position, "8", elements=tuple(errors))


def check_set(transaction_set: TransactionSet, specs: SegmentSpecs,
              delimiters: Delimiters) -> tuple[list[SegmentError], list[str]]:
    """(AK3 findings, warnings) for every segment of ``transaction_set``."""
    errors: list[SegmentError] = []
    warnings: list[str] = []
    for segment in transaction_set.segments:
        if not valid_tag(segment.tag):
            errors.append(SegmentError(segment.tag[:3] or "?", segment.position, "1",
                                       reason=f"{segment.tag!r} is not an X12 segment id"))
            continue
        segment_specs = specs.get(segment.tag)
        if segment_specs is None:
            warnings.append(f"segment {segment.tag} at position {segment.position} of set "
                            f"{transaction_set.control_number} is not read by the hub; ignored")
            continue
        found = check_segment(segment, segment_specs, delimiters)
        if found:
            errors.append(found)
    return errors, warnings
