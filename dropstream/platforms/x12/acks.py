"""997 findings and the reading driver shared by the 940/945/846/997 readers (specs §5.2, §7.2).

``read_documents`` parses an interchange, checks every set of every group with the syntax tables
(``syntax``), hands the clean ones to the set reader registered for the group's GS01, and
returns the documents read, the sets refused (with reasons) and the ``GroupAck`` values a 997
must carry for each received group (AK1/AK2/AK3/AK4/AK5/AK9, §5.2):

- a set with envelope or segment errors → AK5 R with its AK502 codes (5 when segments are in
  error) – the other sets of the group go through: one bad set never stops the others;
- a group whose trailer, control numbers, counts or version are wrong, or that this reader does
  not handle → AK9 R with its AK905 codes, every set of it AK5 R (none is used);
- an interchange refused at ISA/IEA level (reasons on ``Interchange``) → every group AK9 R and
  every set AK5 R, with no further code (X12 reports those in a TA1, which §8 does not require);
- otherwise AK9 A when every set was accepted, P when some were, R when none was.

No acknowledgment is computed for a received 997 group (FA): "these acknowledgments shall not be
acknowledged" (§5). When the ISA itself is unreadable there is nothing a 997 can name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from dropstream.platforms.x12.codes import (
    ACCEPTED,
    ACK_CODES,
    ELEMENT_ERRORS,
    GROUP_ERRORS,
    SEGMENT_ERRORS,
    SET_ERRORS,
    describe,
)
from dropstream.platforms.x12.envelope import (
    Delimiters,
    Interchange,
    SegmentError,
    TransactionSet,
    parse_interchange,
)
from dropstream.platforms.x12.profile import PartnerProfile
from dropstream.platforms.x12.syntax import SPECS, check_set

T = TypeVar("T")


def segment_error_text(error: SegmentError) -> str:
    """An AK3 and its AK4s in words."""
    text = (f"segment {error.segment_id} at position {error.position}: "
            f"{describe(SEGMENT_ERRORS, error.code)}")
    parts = []
    for element in error.elements:
        where = f"element {element.position}"
        if element.component:
            where += f"-{element.component}"
        if element.reference:
            where += f" (data element {element.reference})"
        part = f"{where} {describe(ELEMENT_ERRORS, element.code)}"
        if element.bad_value:
            part += f" {element.bad_value!r}"
        parts.append(part)
    if parts:
        text += "; " + "; ".join(parts)
    if error.reason:
        text += f" ({error.reason})"
    return text


@dataclass(frozen=True, slots=True)
class SetAck:
    """AK2 … AK5 for one transaction set: ``code`` is AK501, ``errors`` AK502–AK506."""

    set_id: str
    control_number: str
    code: str
    errors: tuple[str, ...] = ()
    segment_errors: tuple[SegmentError, ...] = ()
    reasons: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.code in ACCEPTED

    @property
    def text(self) -> str:
        return describe(ACK_CODES, self.code)

    def messages(self) -> list[str]:
        """Every finding in words: the AK5 codes, then each AK3/AK4, then free reasons."""
        found = [describe(SET_ERRORS, code) for code in self.errors]
        found += [segment_error_text(error) for error in self.segment_errors]
        return found + [reason for reason in self.reasons if reason not in found]


@dataclass(frozen=True, slots=True)
class GroupAck:
    """AK1 + AK9 for one functional group, with the AK2 loops of its sets.

    ``code`` is AK901; ``included`` AK902 (GE01 as received), ``received`` AK903,
    ``accepted_count`` AK904, ``errors`` AK905–AK909.
    """

    functional_id: str
    control_number: str
    code: str
    included: int
    received: int
    accepted_count: int
    errors: tuple[str, ...] = ()
    sets: tuple[SetAck, ...] = ()
    reasons: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        """A or E; P (partially accepted) is not – look at ``sets``."""
        return self.code in ACCEPTED

    @property
    def text(self) -> str:
        return describe(ACK_CODES, self.code)

    def messages(self) -> list[str]:
        found = [describe(GROUP_ERRORS, code) for code in self.errors]
        return found + [reason for reason in self.reasons if reason not in found]


@dataclass(frozen=True, slots=True)
class RejectedSet:
    """A transaction set the reader did not turn into a document, and why."""

    group_control_number: str
    set_id: str
    control_number: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SetOutcome(Generic[T]):
    """What a set reader made of one syntactically clean set."""

    document: T | None
    errors: tuple[SegmentError, ...] = ()
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReadResult(Generic[T]):
    """A read interchange: good documents, refused sets, and the 997 findings per group."""

    interchange: Interchange
    documents: tuple[T, ...]
    rejected: tuple[RejectedSet, ...]
    acknowledgments: tuple[GroupAck, ...]
    warnings: tuple[str, ...] = ()

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the interchange as a whole was refused (empty when it was not)."""
        return self.interchange.reasons

    @property
    def ok(self) -> bool:
        """Nothing refused: the interchange, every group and every set were accepted."""
        return self.interchange.ok and not self.rejected and all(
            ack.code == "A" for ack in self.acknowledgments)


SetReader = Callable[[TransactionSet, str, Delimiters, PartnerProfile], SetOutcome[Any]]


def _group_code(rejected: bool, received: int, accepted: int, any_e: bool) -> str:
    if rejected:
        return "R"
    if accepted == received:
        return "E" if any_e else "A"
    return "R" if accepted == 0 else "P"


def read_documents(data: bytes, profile: PartnerProfile,
                   readers: Mapping[str, SetReader]) -> ReadResult[Any]:
    """Parse ``data`` and read each group whose GS01 has a reader in ``readers``."""
    interchange = parse_interchange(data)
    delimiters = interchange.delimiters or Delimiters()
    documents: list[Any] = []
    rejected: list[RejectedSet] = []
    acks: list[GroupAck] = []
    warnings: list[str] = []
    refused = tuple(f"the interchange was refused: {reason}" for reason in interchange.reasons)
    for group in interchange.groups:
        reader = readers.get(group.functional_id)
        group_errors = list(group.errors)
        group_reasons = list(group.reasons)
        if reader is None and "1" not in group_errors:
            group_errors.append("1")
            group_reasons.append(f"a {group.functional_id} group is not read here")
        group_refused = bool(group_errors or group_reasons or refused)
        set_acks: list[SetAck] = []
        for transaction_set in group.sets:
            set_errors = list(transaction_set.errors)
            reasons = list(transaction_set.reasons)
            segment_errors: list[SegmentError] = []
            document = None
            if not set_errors and reader is not None:
                segment_errors, set_warnings = check_set(
                    transaction_set, SPECS.get(transaction_set.set_id, {}), delimiters)
                warnings.extend(set_warnings)
                if not segment_errors:
                    outcome = reader(transaction_set, group.control_number, delimiters, profile)
                    segment_errors = list(outcome.errors)
                    reasons.extend(outcome.reasons)
                    document = outcome.document
                if segment_errors:
                    set_errors.append("5")
                    reasons.extend(segment_error_text(error) for error in segment_errors)
            elif reader is None:
                set_errors.append("1")
            if group_refused:
                reasons.extend(refused or [f"its functional group {group.control_number} was "
                                           "refused: " + "; ".join(group_reasons)])
            ok = not set_errors and not group_refused and document is not None
            if not ok and not set_errors and not group_refused and not reasons:
                reasons.append("the set could not be read")
            set_acks.append(SetAck(transaction_set.set_id, transaction_set.control_number,
                                   "A" if ok else "R", tuple(dict.fromkeys(set_errors)),
                                   tuple(segment_errors), tuple(reasons)))
            if ok:
                documents.append(document)
            else:
                rejected.append(RejectedSet(group.control_number, transaction_set.set_id,
                                            transaction_set.control_number, tuple(reasons)))
        if group.functional_id == "FA":
            continue  # never acknowledge an acknowledgment (§5)
        accepted = sum(ack.accepted for ack in set_acks)
        received = len(group.sets)
        acks.append(GroupAck(
            group.functional_id, group.control_number,
            _group_code(group_refused, received, accepted, any(a.code == "E" for a in set_acks)),
            group.included if group.included is not None else received, received,
            0 if group_refused else accepted, tuple(dict.fromkeys(group_errors)),
            tuple(set_acks), tuple(group_reasons) + refused))
    return ReadResult(interchange, tuple(documents), tuple(rejected), tuple(acks),
                      tuple(warnings))
