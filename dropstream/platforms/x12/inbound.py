"""One reader for any file a warehouse drops: 945, 846 and 997 groups (specs §6 "/out/…").

The folder the adapter reads may hold any of the three; ``read_inbound`` reads every group with
the matching reader and returns one ``ReadResult`` whose documents are ``ShippingAdvice``,
``InventoryReport`` and ``Acknowledgment`` values (``of_type`` picks one kind). Its
``acknowledgments`` cover the 945 and 846 groups – what the hub's 997 answers immediately after
parsing (§5.4); 997 groups are never acknowledged (§5). A 940 group is refused (AK905 1): the hub
sends 940s, it does not receive them.
"""

from __future__ import annotations

from typing import Any, TypeVar

from dropstream.platforms.x12.acks import ReadResult, read_documents
from dropstream.platforms.x12.profile import PartnerProfile
from dropstream.platforms.x12.w846 import read_846_set
from dropstream.platforms.x12.w945 import read_945_set
from dropstream.platforms.x12.w997 import read_997_set

D = TypeVar("D")


def read_inbound(data: bytes, profile: PartnerProfile | None = None) -> ReadResult[Any]:
    """Every 945, 846 and 997 set of the interchange in ``data``."""
    return read_documents(data, profile or PartnerProfile(),
                          {"SW": read_945_set, "IB": read_846_set, "FA": read_997_set})


def of_type(result: ReadResult[Any], kind: type[D]) -> tuple[D, ...]:
    """The documents of ``result`` that are ``kind`` instances, in file order."""
    return tuple(document for document in result.documents if isinstance(document, kind))
