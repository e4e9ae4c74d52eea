"""Hand-written DSFX order files and a shipment-file reader, straight from specs/dsfx.md.

Plain strings and the csv module only: nothing from the hub's or the robot's format code.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

# The published sample: PH version 1 (25 fields) and two PD rows.
PUBLISHED_SAMPLE = (
    '"PH","2016981433","12345678","JOAN HARRY","5050 Road N","","Waterloo","ON","N1N 1N1","CA",'
    '"","555-666-7777","JOAN HARRY","5050 Road N","","Waterloo","ON","N1N 1N1","CA","Ground","P",'
    '"","2020-03-07T00:00:00Z","AMZ",""\r\n'
    '"PD","2016981433","1","13358A","16","0.00"\r\n'
    '"PD","2016981433","2","2564A","6","0.00"\r\n'
)

# PH version 2: customer email inserted at position 4, customer notes appended at 27.
PH_V2_ORDER = (
    '"PH","BS-2001","","joan@example.com","Joan Harry","12 Main St","Apt 4","Albany","NY","12207",'
    '"US","Acme","555-0100","Joan Harry","12 Main St","","Albany","NY","12207","US",'
    '"FedEx 2Day","P","","2024-05-01T10:00:00Z","BS","Happy birthday","Leave at door"\r\n'
    '"PD","BS-2001","1","TEE-RED-M","2","12.50"\r\n'
    '"PD","BS-2001","2","MUG-01","1","8.00"\r\n'
)

# PH version 3: version 2 plus facility id at 28.
PH_V3_ORDER = (
    '"PH","BS-3001","PO-9","ann@example.com","Ann Lee","1 Elm Rd","","Austin","TX","73301",'
    '"US","","","","","","","","","","USPS Priority","P","","2024-05-02T09:30:00Z","BS","","",'
    '"DC-EAST"\r\n'
    '"PD","BS-3001","1","CAP-BLK","3","15.00"\r\n'
)


def ph(order: str, *, version: int = 2, ship_method: str = "UPS Ground",
       name: str = "Joan Harry", country: str = "US", state: str = "NY") -> list[str]:
    """PH fields for ``version`` (25, 27 or 28 of them), every required field filled."""
    fields = ["PH", order, "", name, "12 Main St", "", "Albany", state, "12207", country, "",
              "555-0100", "", "", "", "", "", "", "", ship_method, "P", "",
              "2024-05-01T10:00:00Z", "BS", ""]
    if version >= 2:
        fields = fields[:3] + ["joan@example.com"] + fields[3:] + ["notes"]
    if version == 3:
        fields.append("DC-1")
    return fields


def pd(order: str, line: int, sku: str, quantity: int | str, price: str = "10.00") -> list[str]:
    return ["PD", order, str(line), sku, str(quantity), price]


def render(*rows: list[str]) -> str:
    """Every field quoted, CRLF, as the hub writes."""
    return "".join(",".join(f'"{value}"' for value in row) + "\r\n" for row in rows)


def order_text(order: str, lines: list[tuple[str, int]], **ph_options) -> str:
    """One order: its PH and one PD per (sku, quantity), lines numbered from 1."""
    rows = [ph(order, **ph_options)]
    rows += [pd(order, index, sku, quantity) for index, (sku, quantity) in enumerate(lines, 1)]
    return render(*rows)


def drop(root: Path, order: str, text: str, stamp: str = "240501100000") -> str:
    """Put an order file in /in as the hub would (temporary name, then rename); return its name."""
    name = f"ord_{order}_{stamp}.csv"
    temporary = root / "in" / f".{name}.part"
    temporary.write_bytes(text.encode("utf-8"))
    temporary.rename(root / "in" / name)
    return name


SHIPMENT_HEADER = ["order_number", "line_number", "sku", "quantity", "ship_date", "carrier",
                   "service", "tracking_number", "shipment_id", "weight", "cost"]


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a warehouse file with a header row, as dicts."""
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def shipment_rows(root: Path) -> list[dict[str, str]]:
    """Every row of every shp_ file in /out, in file-name order."""
    rows: list[dict[str, str]] = []
    for path in sorted((root / "out").glob("shp_*.csv")):
        rows.extend(read_csv(path))
    return rows


def header_of(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return next(csv.reader(io.StringIO(text, newline="")))
