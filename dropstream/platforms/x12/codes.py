"""X12 997 code tables with readable text (specs/x12-warehouse.md §5.2) and 945 W12 statuses (§3.2).

Codes are strings as they travel in the file; ``describe`` gives the text for any table, falling
back to ``code <value>`` for a value the table does not know (a partner's extension).
"""

from __future__ import annotations

from collections.abc import Mapping

# AK304 Segment Syntax Error Code
SEGMENT_ERRORS: Mapping[str, str] = {
    "1": "unrecognized segment ID",
    "2": "unexpected segment",
    "3": "mandatory segment missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "6": "segment not in defined transaction set",
    "7": "segment not in proper sequence",
    "8": "segment has data element errors",
}

# AK403 Data Element Syntax Error Code
ELEMENT_ERRORS: Mapping[str, str] = {
    "1": "mandatory data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
}

# AK501 Transaction Set Acknowledgment Code and AK901 Functional Group Acknowledge Code.
# ``P`` belongs to AK901 only; §5.2 says the hub accepts it in AK501 too and never emits it there.
ACK_CODES: Mapping[str, str] = {
    "A": "accepted",
    "E": "accepted, errors were noted",
    "M": "rejected, message authentication code (MAC) failed",
    "P": "partially accepted, at least one transaction set was rejected",
    "R": "rejected",
    "W": "rejected, assurance failed validity tests",
    "X": "rejected, content after decryption could not be analyzed",
}
SET_ACK_CODES = frozenset(ACK_CODES)  # P tolerated when reading (§5.2)
GROUP_ACK_CODES = frozenset(ACK_CODES)
ACCEPTED = frozenset({"A", "E"})

# AK502–AK506 Transaction Set Syntax Error Code (8–19 are security codes, not used by the hub)
SET_ERRORS: Mapping[str, str] = {
    "1": "transaction set not supported",
    "2": "transaction set trailer missing",
    "3": "transaction set control number in header and trailer do not match",
    "4": "number of included segments does not match actual count",
    "5": "one or more segments in error",
    "6": "missing or invalid transaction set identifier",
    "7": "missing or invalid transaction set control number",
    "23": "transaction set control number not unique within the functional group",
}

# AK905–AK909 Functional Group Syntax Error Code
GROUP_ERRORS: Mapping[str, str] = {
    "1": "functional group not supported",
    "2": "functional group version not supported",
    "3": "functional group trailer missing",
    "4": "group control number in the functional group header and trailer do not agree",
    "5": "number of included transaction sets does not match actual count",
    "6": "group control number violates syntax",
}

# GS01 Functional Identifier Code ↔ ST01 Transaction Set Identifier Code (§1.3)
FUNCTIONAL_SETS: Mapping[str, str] = {"OW": "940", "SW": "945", "IB": "846", "FA": "997"}

# W1201 Shipment/Order Status Code (§3.2); the hub's reading of each is in the comment
SHIPMENT_STATUSES: Mapping[str, str] = {
    "CC": "shipment complete",  # line shipped complete
    "CP": "partial shipment, considered no backorder",  # remainder canceled
    "BP": "shipment partial, back order to ship",  # remainder still open; another 945 follows
    "IC": "item canceled",
    "CU": "canceled line",
    "DS": "out of stock",
    "IS": "substitution",
    "PR": "partial shipment",
}
CANCELED_STATUSES = frozenset({"IC", "CU"})
BACKORDER_STATUSES = frozenset({"BP"})


def describe(table: Mapping[str, str], code: str) -> str:
    """The readable text of ``code`` in ``table``, or ``code <value>`` when it is not listed."""
    return table.get(code, f"code {code}")
