"""997 Functional Acknowledgments both ways (specs/x12-warehouse.md §5, §8 rows 2, 9, 11).

``check_group`` applies the envelope checks to one received functional group and returns a
``GroupVerdict``; ``ack_body`` renders it as the body of one 997 set (AK1, AK2/AK3/AK4/AK5 per
set, AK9). Codes (§5.2):

* per set, AK5 R with AK502: ``2`` SE missing, ``3`` ST02 ≠ SE02, ``4`` SE01 ≠ segments counted
  ST…SE, ``5`` segments in error (from the 940 checks), ``6`` ST01 not the group's set,
  ``7`` ST02 missing or not 4–9 characters, ``23`` ST02 repeated in the group;
* per group, AK9 R with AK905: ``1`` group not supported (a GS01 other than expected, or an
  ISA15 other than the profile's — the 997 has no usage-indicator code, which is a TA1 matter),
  ``2`` GS08 not the profile's version, ``3`` GE missing, ``4`` GS06 ≠ GE02, ``5`` GE01 ≠ sets
  counted, ``6`` GS06 not a 1–9 digit number.

A group-level error rejects every set in it (AK5 R, AK904 0). AK9 is A when all sets are A,
E when some are E and none rejected, P when some are rejected and some accepted, R when none is
accepted. ``read_ack`` reads a 997 the hub sent back for a 945/846 group.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dropstream.sandbox.edi.orders940 import SegmentError
from dropstream.sandbox.edi.x12 import Group, Segment, TransactionSet, segment

ACCEPTED = ("A", "E")


@dataclass
class SetVerdict:
    set_id: str
    control: str
    code: str = "A"
    set_errors: list[str] = field(default_factory=list)
    segment_errors: list[SegmentError] = field(default_factory=list)
    transaction_set: TransactionSet | None = None

    @property
    def accepted(self) -> bool:
        return self.code in ACCEPTED


@dataclass
class GroupVerdict:
    functional_id: str
    control: str
    included: int  # GE01 as received (or the count when GE01 is unusable)
    sets: list[SetVerdict] = field(default_factory=list)
    group_errors: list[str] = field(default_factory=list)

    @property
    def accepted_count(self) -> int:
        return sum(1 for verdict in self.sets if verdict.accepted)

    @property
    def code(self) -> str:
        if self.group_errors or self.accepted_count == 0:
            return "R"
        if self.accepted_count < len(self.sets):
            return "P"
        return "E" if any(verdict.code == "E" for verdict in self.sets) else "A"

    def reject_all(self, *codes: str) -> None:
        """Reject the whole group (duplicates, wrong usage…), adding AK905 ``codes``."""
        self.group_errors.extend(code for code in codes if code not in self.group_errors)
        for verdict in self.sets:
            verdict.code = "R"


def _set_envelope_errors(ts: TransactionSet, expected_set: str, seen: set[str]) -> list[str]:
    codes = []
    if ts.se is None:
        codes.append("2")
    else:
        if ts.se.get(2) != ts.control:
            codes.append("3")
        if ts.se.get(1) != str(len(ts.body) + 2):
            codes.append("4")
    if ts.set_id != expected_set:
        codes.append("6")
    if not 4 <= len(ts.control) <= 9:
        codes.append("7")
    elif ts.control in seen:
        codes.append("23")
    seen.add(ts.control)
    return codes


def check_group(group: Group, *, expected_functional_id: str, expected_set: str,
                version: str, content_check: Callable[[TransactionSet], list[SegmentError]]
                ) -> GroupVerdict:
    """The 997 verdict for one received group; ``content_check`` adds set-level AK3/AK4s."""
    ge = group.ge
    included = int(ge.get(1)) if ge is not None and ge.get(1).isdigit() else len(group.sets)
    verdict = GroupVerdict(group.functional_id, group.control, included)
    if group.functional_id != expected_functional_id:
        verdict.group_errors.append("1")
    if group.gs.get(8) != version:
        verdict.group_errors.append("2")
    if ge is None:
        verdict.group_errors.append("3")
    else:
        if ge.get(2) != group.control:
            verdict.group_errors.append("4")
        if ge.get(1) != str(len(group.sets)):
            verdict.group_errors.append("5")
    if not (group.control.isdigit() and 1 <= len(group.control) <= 9):
        verdict.group_errors.append("6")
    seen: set[str] = set()
    for ts in group.sets:
        set_verdict = SetVerdict(ts.set_id, ts.control, transaction_set=ts)
        set_verdict.set_errors = _set_envelope_errors(ts, expected_set, seen)
        if ts.set_id == expected_set:
            set_verdict.segment_errors = content_check(ts)
        if any(error.rejects for error in set_verdict.segment_errors):
            set_verdict.set_errors.append("5")
        if set_verdict.set_errors:
            set_verdict.code = "R"
        elif set_verdict.segment_errors:
            set_verdict.code = "E"
        verdict.sets.append(set_verdict)
    if verdict.group_errors:
        verdict.reject_all()
    return verdict


def ack_body(verdict: GroupVerdict) -> list[Segment]:
    """The segments of one 997 set between ST and SE for ``verdict`` (§5.1, §5.3)."""
    body = [segment("AK1", verdict.functional_id, verdict.control)]
    for set_verdict in verdict.sets:
        body.append(segment("AK2", set_verdict.set_id, set_verdict.control))
        for error in set_verdict.segment_errors:
            body.append(segment("AK3", error.tag, error.position, "", error.code))
            for element in error.elements:
                body.append(segment("AK4", element.position, element.reference, element.code,
                                    element.bad_value[:99]))
        body.append(segment("AK5", set_verdict.code, *set_verdict.set_errors[:5]))
    body.append(segment("AK9", verdict.code, verdict.included, len(verdict.sets),
                        verdict.accepted_count, *verdict.group_errors[:5]))
    return body


@dataclass
class ReceivedAck:
    """One 997 set from the hub: which group it answers and how."""

    functional_id: str
    group_control: str
    code: str
    set_codes: dict[str, str] = field(default_factory=dict)
    group_errors: list[str] = field(default_factory=list)


def read_ack(ts: TransactionSet) -> ReceivedAck | None:
    """The acknowledgment a 997 set carries, or None when it has no AK1 or AK9."""
    ak1 = next((seg for seg in ts.body if seg.tag == "AK1"), None)
    ak9 = next((seg for seg in ts.body if seg.tag == "AK9"), None)
    if ak1 is None or ak9 is None:
        return None
    ack = ReceivedAck(ak1.get(1), ak1.get(2), ak9.get(1),
                      group_errors=[value for value in ak9.elements[4:] if value])
    current = ""
    for seg in ts.body:
        if seg.tag == "AK2":
            current = seg.get(2)
        elif seg.tag == "AK5" and current:
            ack.set_codes[current] = seg.get(1)
    return ack
