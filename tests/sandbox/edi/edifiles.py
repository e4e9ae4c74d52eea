"""Hand-written X12 940 interchanges (specs/x12-warehouse.md §2.3) and helpers to read /out.

Inputs are plain strings assembled here, never produced by the simulator's writer; what the
simulator writes is read back with its own reader (``dropstream.sandbox.edi.x12``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from dropstream.sandbox.edi.x12 import Interchange, Segment, parse

T0 = datetime(2026, 3, 5, 14, 32, tzinfo=UTC).timestamp()  # the spec samples' 260305 1432

# §2.3, character for character.
SPEC_940 = """\
ISA*00*          *00*          *ZZ*HUBSENDER      *ZZ*WHSRECEIVER    *260305*1432*U*00401*000000101*1*T*>~
GS*OW*HUBSENDER*WHSRECEIVER*20260305*1432*5001*X*004010~
ST*940*0001~
W05*N*HUB-100234*PO-77812~
N1*ST*Jane Buyer~
N3*12 Harbor Street*Apt 4B~
N4*Portland*OR*97209*US~
PER*IC*Jane Buyer*TE*5035550142*EM*jane@example.com~
N1*DE*Acme Outdoor Co*ZZ*ACME~
N9*CO*BS-1043~
G62*10*20260306~
NTE*WHI*Leave at back door~
W66*PP*U***UPS Ground*****UPSN~
LX*1~
W01*2*EA**SK*TENT-4P-GRN~
G69*Four person tent green~
N9*LI*1~
LX*2~
W01*1*EA**SK*STOVE-01*UP*012345678905~
G69*Camp stove~
N9*LI*2~
W76*3*14.2*LB~
SE*21*0001~
GE*1*5001~
IEA*1*000000101~
"""  # noqa: E501

# §5.3, the 997 accepting the sample (with ISA13 2203, GS06 7303).
SPEC_997_ACCEPT = """\
ISA*00*          *00*          *ZZ*WHSRECEIVER    *ZZ*HUBSENDER      *260305*1432*U*00401*000002203*1*T*>~
GS*FA*WHSRECEIVER*HUBSENDER*20260305*1432*7303*X*004010~
ST*997*0001~
AK1*OW*5001~
AK2*940*0001~
AK5*A~
AK9*A*1*1*1~
SE*6*0001~
GE*1*7303~
IEA*1*000002203~
"""  # noqa: E501

# §5.3, the 997 rejecting group 5002 whose first W01 has unit XX.
SPEC_997_REJECT = """\
ISA*00*          *00*          *ZZ*WHSRECEIVER    *ZZ*HUBSENDER      *260305*1432*U*00401*000002203*1*T*>~
GS*FA*WHSRECEIVER*HUBSENDER*20260305*1432*7303*X*004010~
ST*997*0001~
AK1*OW*5002~
AK2*940*0001~
AK3*W01*13**8~
AK4*2*355*7*XX~
AK5*R*5~
AK9*R*1*1*0~
SE*8*0001~
GE*1*7303~
IEA*1*000002203~
"""  # noqa: E501

SAMPLE_STOCK = {"TENT-4P-GRN": 14, "STOVE-01": 3}


def isa(isa13: str = "000000101", *, usage: str = "T", sender: str = "HUBSENDER",
        receiver: str = "WHSRECEIVER", element: str = "*", component: str = ">") -> str:
    """An ISA without its terminator (106th character)."""
    fields = ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender.ljust(15), "ZZ",
              receiver.ljust(15), "260305", "1432", "U", "00401", isa13, "1", usage, component]
    return element.join(fields)


def order_set(number: str = "HUB-100234", lines: Sequence[tuple[str, int]] = (
        ("TENT-4P-GRN", 2), ("STOVE-01", 1)), *, status: str = "N", w66: bool = True,
              unit: str = "EA") -> list[str]:
    """The body segments (no ST/SE) of a 940 like the §2.3 sample."""
    body = [f"W05*{status}*{number}*PO-77812", "N1*ST*Jane Buyer",
            "N3*12 Harbor Street*Apt 4B", "N4*Portland*OR*97209*US", "N9*CO*BS-1043"]
    if w66:
        body.append("W66*PP*U***UPS Ground*****UPSN")
    for index, (sku, quantity) in enumerate(lines, start=1):
        body += [f"LX*{index}", f"W01*{quantity}*{unit}**SK*{sku}", f"N9*LI*{index}"]
    return body


def transaction(body: Sequence[str], st02: str = "0001", *, se01: int | None = None,
                se02: str | None = None, set_id: str = "940") -> list[str]:
    count = len(body) + 2 if se01 is None else se01
    return [f"ST*{set_id}*{st02}", *body, f"SE*{count}*{st02 if se02 is None else se02}"]


def interchange(*sets: list[str], isa13: str = "000000101", gs06: str = "5001",
                ge01: int | None = None, ge02: str | None = None, usage: str = "T",
                version: str = "004010", functional_id: str = "OW",
                terminator: str = "~\n") -> str:
    """A 940 interchange from ``transaction(...)`` lists; GE/SE values may be overridden."""
    segments = [isa(isa13, usage=usage),
                f"GS*{functional_id}*HUBSENDER*WHSRECEIVER*20260305*1432*{gs06}*X*{version}"]
    for item in sets:
        segments += item
    segments += [f"GE*{len(sets) if ge01 is None else ge01}*{gs06 if ge02 is None else ge02}",
                 f"IEA*1*{isa13}"]
    return "".join(segment + terminator for segment in segments)


def simple_940(number: str, lines: Sequence[tuple[str, int]], *, isa13: str,
               gs06: str, status: str = "N") -> str:
    return interchange(transaction(order_set(number, lines, status=status)), isa13=isa13,
                       gs06=gs06)


def drop(root: Path, text: str | bytes, *, isa13: str = "000000101",
         stamp: str = "20260305143200") -> str:
    """Put a 940 into /in the way the hub names it; return the name."""
    name = f"940_{isa13}_{stamp}.edi"
    data = text.encode("utf-8") if isinstance(text, str) else text
    (root / "in" / name).write_bytes(data)
    return name


def out_names(root: Path, prefix: str = "") -> list[str]:
    return sorted(path.name for path in (root / "out").iterdir()
                  if path.is_file() and path.name.startswith(prefix))


def read_out(root: Path, name: str) -> Interchange:
    return parse((root / "out" / name).read_bytes())


def only(root: Path, prefix: str) -> Interchange:
    names = out_names(root, prefix)
    assert len(names) == 1, names
    return read_out(root, names[0])


def body(interchange: Interchange, set_index: int = 0, group_index: int = 0) -> list[str]:
    """The set's body as ``TAG*el*el`` strings (``*`` whatever the file used)."""
    ts = interchange.groups[group_index].sets[set_index]
    return [as_text(seg) for seg in ts.body]


def as_text(seg: Segment) -> str:
    values = list(seg.elements)
    while values and values[-1] == "":
        values.pop()
    return "*".join([seg.tag, *values])


def tagged(interchange: Interchange, tag: str) -> list[str]:
    return [as_text(seg) for group in interchange.groups for ts in group.sets
            for seg in ts.body if seg.tag == tag]


def hub_997(functional_id: str, gs06: int, code: str = "A", *, isa13: str = "000000900",
            hub_gs06: str = "9001", set_codes: Sequence[str] = ("A",)) -> str:
    """A 997 the hub might send for one of the warehouse's groups."""
    segments = [isa(isa13, sender="HUBSENDER", receiver="WHSRECEIVER"),
                f"GS*FA*HUBSENDER*WHSRECEIVER*20260305*1432*{hub_gs06}*X*004010",
                "ST*997*0001", f"AK1*{functional_id}*{gs06}"]
    for index, set_code in enumerate(set_codes, start=1):
        segments += [f"AK2*{'945' if functional_id == 'SW' else '846'}*{index:04d}",
                     f"AK5*{set_code}"]
    accepted = sum(1 for set_code in set_codes if set_code in "AE")
    segments.append(f"AK9*{code}*{len(set_codes)}*{len(set_codes)}*{accepted}")
    count = len(segments) - 2 + 1  # ST … SE: everything after ISA and GS, plus SE
    segments += [f"SE*{count}*0001", f"GE*1*{hub_gs06}", f"IEA*1*{isa13}"]
    return "".join(segment + "~\n" for segment in segments)


def drop_997(root: Path, text: str, isa13: str = "000000900") -> str:
    name = f"997_{isa13}_20260305150000.edi"
    (root / "in" / name).write_text(text)
    return name
