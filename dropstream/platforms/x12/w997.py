"""997 Functional Acknowledgment reader and writer (specs/x12-warehouse.md §5; group FA).

Reading (``read_997``): each 997 set acknowledges one functional group the hub sent (§5). The
result is an ``Acknowledgment`` per set: the group acknowledged (AK101 functional id, AK102 the
hub's GS06) and, as a ``GroupAck``, the outcome – AK901 A/E/P/R …, the AK902–AK904 counts, AK905
codes, and per AK2 the set acknowledged (AK202 = the hub's ST02) with AK501, AK502 codes and the
AK3/AK4 details; ``messages()`` on each gives the code tables' text (``codes``). ``P`` is accepted
in AK501 as well as AK901 (§5.2 "Disagreement"). A 997 is never acknowledged (§5).

Writing (``write_997``): the hub's answer to a received interchange, one 997 set per received
group, from the ``GroupAck`` values a reader computed (``ReadResult.acknowledgments``). Every set
gets its AK2 loop (AK3/AK4 for segment findings, AK5 with its codes); AK9 closes the group. The
hub never emits AK501 = P (§5.2). Control numbers and time come from the caller's ``Envelope``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dropstream.platforms.x12.acks import (
    GroupAck,
    ReadResult,
    SetAck,
    SetOutcome,
    read_documents,
)
from dropstream.platforms.x12.codes import GROUP_ACK_CODES, SET_ACK_CODES
from dropstream.platforms.x12.envelope import (
    Delimiters,
    ElementError,
    Envelope,
    Segment,
    SegmentError,
    SegmentValues,
    TransactionSet,
    allowed_characters,
    clean_text,
    profile_delimiters,
    split_components,
    write_interchange,
)
from dropstream.platforms.x12.profile import PartnerProfile


@dataclass(frozen=True, slots=True)
class Acknowledgment:
    """One received 997 set: ``acknowledged`` is the outcome for one group the hub sent."""

    group_control_number: str  # GS06 of the 997's own group
    set_control_number: str  # ST02 of the 997
    acknowledged: GroupAck


def _element_error(ak4: Segment, delimiters: Delimiters) -> ElementError:
    parts = split_components(ak4.get(1), delimiters)
    component = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    return ElementError(int(parts[0]), ak4.get(3), int(ak4.get(2)) if ak4.get(2) else None,
                        component, ak4.get(4))


def _close_set(ak2: Segment, ak3s: list[tuple[Segment, list[ElementError]]],
               ak5: Segment) -> SetAck:
    errors = tuple(ak5.get(n) for n in range(2, 7) if ak5.get(n))
    segment_errors = tuple(SegmentError(ak3.get(1), int(ak3.get(2)), ak3.get(4), ak3.get(3),
                                        tuple(elements)) for ak3, elements in ak3s)
    draft = SetAck(ak2.get(1), ak2.get(2), ak5.get(1), errors, segment_errors)
    return SetAck(draft.set_id, draft.control_number, draft.code, errors, segment_errors,
                  tuple(draft.messages()))


def read_997_set(transaction_set: TransactionSet, group_control_number: str,
                 delimiters: Delimiters, profile: PartnerProfile) -> SetOutcome[Acknowledgment]:
    """Read one syntactically clean 997 set."""
    segments = transaction_set.segments
    if not segments or segments[0].tag != "AK1":
        return SetOutcome(None, (SegmentError("AK1", 2, "3", reason="AK1 must follow ST"),))
    ak1 = segments[0]
    errors: list[SegmentError] = []
    sets: list[SetAck] = []
    ak2: Segment | None = None
    ak3s: list[tuple[Segment, list[ElementError]]] = []
    ak9: Segment | None = None
    for segment in segments[1:]:
        tag = segment.tag
        if ak9 is not None and tag.startswith("AK"):
            errors.append(SegmentError(tag, segment.position, "7", reason="after AK9"))
        elif tag == "AK2":
            if ak2 is not None:
                errors.append(SegmentError("AK5", segment.position, "3",
                                           reason=f"AK2 {ak2.get(2)} has no AK5"))
            ak2, ak3s = segment, []
        elif tag in ("AK3", "AK4", "AK5") and ak2 is None:
            errors.append(SegmentError(tag, segment.position, "2", reason="outside an AK2 loop"))
        elif tag == "AK3" and ak2 is not None:
            ak3s.append((segment, []))
        elif tag == "AK4":
            if not ak3s:
                errors.append(SegmentError("AK4", segment.position, "2", reason="before any AK3"))
            else:
                ak3s[-1][1].append(_element_error(segment, delimiters))
        elif tag == "AK5" and ak2 is not None:
            if segment.get(1) not in SET_ACK_CODES:
                errors.append(SegmentError("AK5", segment.position, "8", elements=(
                    ElementError(1, "7", 717, None, segment.get(1)),)))
            sets.append(_close_set(ak2, ak3s, segment))
            ak2, ak3s = None, []
        elif tag == "AK9":
            if ak2 is not None:
                errors.append(SegmentError("AK5", segment.position, "3",
                                           reason=f"AK2 {ak2.get(2)} has no AK5"))
            ak9 = segment
            if segment.get(1) not in GROUP_ACK_CODES:
                errors.append(SegmentError("AK9", segment.position, "8", elements=(
                    ElementError(1, "7", 715, None, segment.get(1)),)))
    if ak9 is None:
        errors.append(SegmentError("AK9", len(segments) + 2, "3", reason="the AK9 is missing"))
    if errors or ak9 is None:
        return SetOutcome(None, tuple(errors))
    group_errors = tuple(ak9.get(n) for n in range(5, 10) if ak9.get(n))
    group = GroupAck(ak1.get(1), ak1.get(2), ak9.get(1), int(ak9.get(2)), int(ak9.get(3)),
                     int(ak9.get(4)), group_errors, tuple(sets))
    group = GroupAck(group.functional_id, group.control_number, group.code, group.included,
                     group.received, group.accepted_count, group_errors, group.sets,
                     tuple(group.messages()))
    return SetOutcome(Acknowledgment(group_control_number, transaction_set.control_number,
                                     group))


def read_997(data: bytes, profile: PartnerProfile | None = None) -> ReadResult[Acknowledgment]:
    """Every 997 set of the interchange in ``data`` (FA groups; other groups are refused)."""
    return read_documents(data, profile or PartnerProfile(), {"FA": read_997_set})


# --------------------------------------------------------------------------------------------
# Writer
# --------------------------------------------------------------------------------------------


def _echo(value: str, low: int, high: int, profile: PartnerProfile) -> str:
    """A received value echoed in the 997 (AK101, AK102, AK201, AK301): kept as received where
    it can be written, a character that cannot (a delimiter of ours, a control, non-ASCII)
    becomes ``?``; cut to ``high`` and padded with ``?`` to ``low``."""
    allowed = allowed_characters(profile)
    reserved = profile_delimiters(profile).reserved
    text = "".join(ch if ch in allowed and ch not in reserved else "?" for ch in value)
    return text[:high].ljust(low, "?")


def _ak3_ak4(error: SegmentError, profile: PartnerProfile) -> list[SegmentValues]:
    out: list[SegmentValues] = [("AK3", _echo(error.segment_id, 2, 3, profile),
                                 str(error.position), clean_text(error.loop_id, 6, profile),
                                 error.code)]
    for element in error.elements:
        position = str(element.position)
        if element.component:
            position += f"{profile.component_separator}{element.component}"
        out.append(("AK4", position, str(element.reference or ""), element.code,
                    clean_text(element.bad_value, 99, profile)))
    return out


def acknowledgment_body(ack: GroupAck, profile: PartnerProfile) -> list[SegmentValues]:
    """The segments of one 997 set between ST and SE."""
    body: list[SegmentValues] = [("AK1", _echo(ack.functional_id, 2, 2, profile),
                                  _echo(ack.control_number, 1, 9, profile))]
    for set_ack in ack.sets:
        if set_ack.code == "P":
            raise ValueError("the hub never sends AK501 = P (§5.2); use E or R")
        if not 4 <= len(set_ack.control_number) <= 9:
            continue  # a damaged set without a usable ST02: counted in AK9 only
        body.append(("AK2", _echo(set_ack.set_id, 3, 3, profile),
                     _echo(set_ack.control_number, 4, 9, profile)))
        for error in set_ack.segment_errors:
            body.extend(_ak3_ak4(error, profile))
        body.append(("AK5", set_ack.code, *set_ack.errors[:5]))
    body.append(("AK9", ack.code, str(ack.included), str(ack.received), str(ack.accepted_count),
                 *ack.errors[:5]))
    return body


def write_997(acknowledgments: Sequence[GroupAck], envelope: Envelope,
              profile: PartnerProfile | None = None) -> bytes:
    """One interchange with one FA group: a 997 set per acknowledged group.

    Groups that are themselves 997s (FA) are left out (§5). Raises ValueError when nothing is
    left to acknowledge, and X12EnvelopeError for invalid envelope values.
    """
    profile = profile or PartnerProfile()
    bodies = [acknowledgment_body(ack, profile) for ack in acknowledgments
              if ack.functional_id != "FA"]
    if not bodies:
        raise ValueError("nothing to acknowledge: no functional group other than 997")
    return write_interchange(envelope, profile, "FA", bodies)

