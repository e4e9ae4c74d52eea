"""Seeded, realistic store data: products with options and inventory records, vendors, customers.

Everything is drawn from one ``random.Random`` so the same seed gives the same store. Product and
inventory shapes follow specs/brightsites-api.md §9; SKU rule §9.2 (``final_sku`` = product
``sku`` + separator + record ``sub_sku``; ``sub_sku`` = the sub-options' ``sub_sku`` joined by the
separator).
"""

from __future__ import annotations

import itertools
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

SHIPPING_METHODS = (
    "UPS Ground", "UPS Next Day Air", "UPS Second Day Air", "FedEx 2 Day", "Flat Rate Custom",
    "International Ground", "No Shipping Method",
)
SHIPPING_COSTS = {
    "UPS Ground": Decimal("9.95"), "UPS Next Day Air": Decimal("42.5"),
    "UPS Second Day Air": Decimal("21.0"), "FedEx 2 Day": Decimal("19.75"),
    "Flat Rate Custom": Decimal("7.0"), "International Ground": Decimal("24.0"),
    "No Shipping Method": Decimal("0"),
}

SIZES = (("XS", "XS"), ("Small", "S"), ("Medium", "M"), ("Large", "L"), ("X-Large", "XL"),
         ("2X-Large", "2XL"), ("3X-Large", "3XL"))
BIG_SIZE_SURCHARGE = {"2X-Large": Decimal("2.0"), "3X-Large": Decimal("3.0")}
COLORS = (("Black", "Blk"), ("Navy", "Nvy"), ("Red", "Red"), ("White", "Wht"),
          ("Heather Grey", "HGry"), ("Royal Blue", "Roy"), ("Forest Green", "Frst"))

APPAREL = ("Logo Tee", "Ladies Dip Dye V-Neck Tee", "Performance Polo", "Quarter-Zip Pullover",
           "Fleece Hoodie", "Softshell Jacket", "Crewneck Sweatshirt", "Long Sleeve Tee",
           "Youth Tee", "Oxford Shirt", "Rain Shell", "Puffer Vest")
COLORED_GOODS = ("Embroidered Cap", "Knit Beanie", "Canvas Tote", "Insulated Tumbler 20 oz",
                 "Ceramic Mug", "Laptop Backpack", "Golf Umbrella", "Crew Socks", "Lanyard",
                 "Sport Water Bottle")
PLAIN_GOODS = ("Spiral Notebook", "Metal Pen", "Mouse Pad", "Sticker Pack", "Desk Calendar",
               "Wireless Charger", "Bluetooth Speaker", "Enamel Pin")
CATEGORIES = ((11, "Apparel"), (12, "Headwear"), (13, "Drinkware"), (14, "Bags"),
              (15, "Office"), (16, "Tech"))

VENDORS = (
    {"id": 579, "name": "Sample Apparel Co", "address1": "10 Mill Road", "address2": "",
     "city": "Austin", "state": "Texas", "zip_code": "73301", "phone": "5125550100",
     "email": "orders@vendor.example", "account_number": "ACCT-123", "asi_number": "asi123456"},
    {"id": 612, "name": "Northwind Promotional", "address1": "400 Harbour Street",
     "address2": "Unit 12", "city": "Toronto", "state": "Ontario", "zip_code": "M5J 2T3",
     "phone": "4165550199", "email": "po@northwind.example", "account_number": None,
     "asi_number": "asi778812"},
    {"id": 733, "name": "Héritage Goods", "address1": "2150 Rue Sainte-Catherine",
     "address2": None, "city": "Montréal", "state": "Quebec", "zip_code": "H3H 1M7",
     "phone": "5145550123", "email": "ventes@heritage.example", "account_number": "HG-0042",
     "asi_number": None},
)

FIRST_NAMES = ("José", "Zoë", "François", "Søren", "Björk", "Ana", "Łukasz", "Siobhán", "Chloé",
               "Renée", "Mateo", "Aiko", "Jürgen", "Noémie", "Dmitri", "Ngozi", "Priya",
               "Ömer", "Jane", "Michael", "Emily", "Raúl", "Inès", "Håkon")
LAST_NAMES = ("Núñez", "Brontë", "Lefèvre", "Kierkegaard", "Guðmundsdóttir", "García",
              "Wiśniewski", "O'Brien", "Dubé", "Tremblay", "Müller", "Yamamoto", "Okafor",
              "Rossi", "Roe", "Smith", "Nguyễn", "Çelik", "Johansson", "Pérez", "Côté")
COMPANIES = ("", "", "", "Acme Corp", "Globex LLC", "Initech", "Café Olé Inc.",
             "Société Générale des Arts", "Umbrella Health")

# (first_address, city, state, zip, country, sales tax rate)
US_ADDRESSES = (
    ("1437 Larimer Street", "Denver", "Colorado", "80202", Decimal("0.0881")),
    ("350 Fifth Avenue", "New York", "New York", "10118", Decimal("0.08875")),
    ("1 Infinite Loop", "Cupertino", "California", "95014", Decimal("0.0925")),
    ("600 Congress Avenue", "Austin", "Texas", "78701", Decimal("0.0825")),
    ("400 Broad Street", "Seattle", "Washington", "98109", Decimal("0.1025")),
    ("233 South Wacker Drive", "Chicago", "Illinois", "60606", Decimal("0.1025")),
    ("1600 Pennsylvania Avenue NW", "Washington", "District of Columbia", "20500",
     Decimal("0.06")),
    ("100 Peachtree Street NW", "Atlanta", "Georgia", "30303", Decimal("0.089")),
    ("1 Ferry Building", "San Francisco", "California", "94111", Decimal("0.08625")),
    ("77 Massachusetts Avenue", "Cambridge", "Massachusetts", "02139", Decimal("0.0625")),
    ("2600 Benjamin Franklin Parkway", "Philadelphia", "Pennsylvania", "19130", Decimal("0.08")),
    ("3000 S Las Vegas Blvd", "Las Vegas", "Nevada", "89109", Decimal("0.08375")),
    ("15 Main Street", "Bozeman", "Montana", "59715", Decimal("0")),
    ("220 Sea Lane", "Portland", "Oregon", "97205", Decimal("0")),
)
CA_ADDRESSES = (
    ("290 Bremner Boulevard", "Toronto", "Ontario", "M5V 3L9", Decimal("0.13")),
    ("1001 Rue Sherbrooke Ouest", "Montréal", "Quebec", "H3A 1G5", Decimal("0.14975")),
    ("800 Robson Street", "Vancouver", "British Columbia", "V6Z 3B7", Decimal("0.12")),
    ("9797 Jasper Avenue", "Edmonton", "Alberta", "T5J 1N9", Decimal("0.05")),
    ("1800 Argyle Street", "Halifax", "Nova Scotia", "B3J 3N8", Decimal("0.15")),
    ("2 Water Street", "St. John's", "Newfoundland and Labrador", "A1C 1A1", Decimal("0.15")),
    ("393 Portage Avenue", "Winnipeg", "Manitoba", "R3B 3H6", Decimal("0.12")),
)
SECOND_LINES = ("", "", "", "Suite 200", "Apt 4B", "Unit 12", "Floor 3", "c/o Reception")


@dataclass
class InventoryRecord:
    """One inventory record: one combination of sub-options (one variant) of a product (§9.1)."""

    id: int
    product_id: int
    sub_option_ids: list[int]
    sub_sku: str
    inventory: int
    trigger: int
    track: bool
    allow_negative: bool

    def record(self) -> dict[str, Any]:
        """The §9.5 record shape (no ``final_sku``, no product id)."""
        return {"id": self.id, "inventory": self.inventory, "trigger": self.trigger,
                "track": self.track, "allow_negative": self.allow_negative,
                "sub_sku": self.sub_sku, "sub_option_ids": list(self.sub_option_ids)}


@dataclass
class Product:
    """A store product with its options, sub-options and inventory records."""

    id: int
    name: str
    sku: str
    sku_separator: str
    internal_id: str
    price: Decimal
    weight: Decimal
    categories: list[dict[str, Any]]
    vendors: list[dict[str, Any]]
    options: list[dict[str, Any]]
    sub_options: list[dict[str, Any]]
    enable_inventory: bool
    vendor_inventory_enabled: bool
    inventory_vendor_id: int | None
    tax_code: str
    created_at: datetime
    updated_at: datetime
    gift_certificate: bool = False
    records: list[InventoryRecord] = field(default_factory=list)

    def sub_option(self, sub_option_id: int) -> dict[str, Any] | None:
        for sub in self.sub_options:
            if sub["id"] == sub_option_id:
                return sub
        return None

    def option(self, option_id: int) -> dict[str, Any]:
        return next(opt for opt in self.options if opt["id"] == option_id)

    def sub_sku_for(self, sub_option_ids: list[int]) -> str:
        """§9.2: the sub-options' ``sub_sku`` joined by the separator, in option order."""
        subs = [self.sub_option(sid) for sid in sub_option_ids]
        ordered = sorted((s for s in subs if s is not None),
                         key=lambda s: self.option(s["product_option_id"])["position"])
        return self.sku_separator.join(s["sub_sku"] for s in ordered)

    def final_sku(self, record: InventoryRecord) -> str:
        if not record.sub_sku:
            return self.sku
        return f"{self.sku}{self.sku_separator}{record.sub_sku}"


@dataclass(frozen=True)
class Customer:
    """A storefront customer: contact, addresses, tax rate; ``customer_id`` None for guests."""

    customer_id: int | None
    username: str
    contact: dict[str, str]
    address: dict[str, str]
    billing_contact: dict[str, str]
    billing_address: dict[str, str]
    tax_rate: Decimal


class IdSequence:
    """Increasing ids with small random gaps, as a shared database would hand out."""

    def __init__(self, rng: random.Random, start: int, max_gap: int = 1) -> None:
        self._rng = rng
        self._next = start
        self._max_gap = max_gap

    def take(self) -> int:
        value = self._next
        self._next += self._rng.randint(1, self._max_gap) if self._max_gap > 1 else 1
        return value


def ascii_slug(text: str) -> str:
    """``"Núñez" → "nunez"``, for e-mail local parts."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def build_products(rng: random.Random, count: int, now: datetime) -> list[Product]:
    """``count`` products (at least 1), one of them a gift certificate, ~10 % vendor-managed."""
    product_ids = IdSequence(rng, rng.randint(44000, 45000), max_gap=7)
    option_ids = IdSequence(rng, rng.randint(20, 40))
    sub_option_ids = IdSequence(rng, rng.randint(150, 170))
    record_ids = IdSequence(rng, rng.randint(2800, 2900), max_gap=3)
    used_skus: set[str] = set()
    products: list[Product] = [_gift_certificate(product_ids.take(), now)]
    used_skus.add(products[0].sku)
    pool = [(name, "apparel") for name in APPAREL] + [(n, "colored") for n in COLORED_GOODS] + [
        (name, "plain") for name in PLAIN_GOODS]
    for index in range(max(count - 1, 0)):
        base_name, kind = pool[index % len(pool)]
        name = base_name if index < len(pool) else f"{base_name} {index // len(pool) + 1}"
        product = _product(rng, product_ids.take(), name, kind, used_skus, now)
        _add_options(rng, product, kind, option_ids, sub_option_ids)
        _add_records(rng, product, record_ids)
        products.append(product)
    return products


def _gift_certificate(product_id: int, now: datetime) -> Product:
    return Product(
        id=product_id, name="Gift Certificate", sku="GC25", sku_separator="-", internal_id="",
        price=Decimal("25"), weight=Decimal("0"), categories=[], vendors=[], options=[],
        sub_options=[], enable_inventory=False, vendor_inventory_enabled=False,
        inventory_vendor_id=None, tax_code="", created_at=now - timedelta(days=400),
        updated_at=now - timedelta(days=30), gift_certificate=True,
    )


def _product(rng: random.Random, product_id: int, name: str, kind: str, used: set[str],
             now: datetime) -> Product:
    letters = "".join(word[0] for word in name.split() if word[0].isalpha()).upper()[:3] or "P"
    sku = f"{letters.ljust(2, 'X')}{rng.randint(100, 9899)}"
    while sku in used:
        sku = f"{letters.ljust(2, 'X')}{rng.randint(100, 9899)}"
    used.add(sku)
    vendor_managed = rng.random() < 0.1
    vendor = rng.choice(VENDORS)
    category = {"apparel": CATEGORIES[0], "colored": rng.choice(CATEGORIES[1:4]),
                "plain": rng.choice(CATEGORIES[4:])}[kind]
    created = now - timedelta(days=rng.randint(30, 900), seconds=rng.randint(0, 86399))
    return Product(
        id=product_id, name=name, sku=sku,
        sku_separator=rng.choice(("-", "-", "-", "-", "-", "-", "-", "_", "/")),
        internal_id=rng.choice(("", f"INT-{sku}")),
        price=Decimal(rng.randint(300, 8900)) / 100 if kind != "apparel"
        else Decimal(rng.choice((12, 14, 18, 22, 28, 36, 45, 60))),
        weight=Decimal(rng.randint(1, 60)) / 10, categories=[{"id": category[0],
                                                               "name": category[1]}],
        vendors=[{"id": vendor["id"], "name": vendor["name"]}], options=[], sub_options=[],
        enable_inventory=True, vendor_inventory_enabled=vendor_managed,
        inventory_vendor_id=vendor["id"] if vendor_managed else None,
        tax_code=rng.choice(("PC040100", "PC040100", "P0000000", "")),
        created_at=created, updated_at=created + timedelta(days=rng.randint(0, 25)),
    )


def _add_options(rng: random.Random, product: Product, kind: str, option_ids: IdSequence,
                 sub_option_ids: IdSequence) -> None:
    wanted: list[tuple[str, str, list[tuple[str, str]]]] = []
    if kind == "apparel":
        start = rng.randint(0, 1)
        wanted.append(("Size", "size", list(SIZES[start:start + rng.randint(3, 6)])))
        if rng.random() < 0.8:
            wanted.append(("Color", "color", rng.sample(COLORS, rng.randint(1, 3))))
    elif kind == "colored":
        wanted.append(("Color", "color", rng.sample(COLORS, rng.randint(2, 4))))
    for position, (name, option_type, values) in enumerate(wanted, start=1):
        option_id = option_ids.take()
        product.options.append({
            "id": option_id, "name": name, "friendly_name": name, "option_type": option_type,
            "price_modifier_type": "$", "show_in_inventory": True, "show_as_thumbs": False,
            "include_in_images": option_type == "color", "required": True,
            "multiple_quantity": False, "position": position,
        })
        for sub_position, (label, sub_sku) in enumerate(values, start=1):
            product.sub_options.append({
                "id": sub_option_ids.take(), "name": label, "sub_sku": sub_sku,
                "price_modifier": str(BIG_SIZE_SURCHARGE.get(label, Decimal("0.0"))),
                "image_src": None, "position": sub_position, "product_option_id": option_id,
            })


def _add_records(rng: random.Random, product: Product, record_ids: IdSequence) -> None:
    groups = [[s["id"] for s in product.sub_options if s["product_option_id"] == opt["id"]]
              for opt in sorted(product.options, key=lambda o: o["position"])
              if opt["show_in_inventory"]]
    for combination in itertools.product(*groups):
        ids = list(combination)
        product.records.append(InventoryRecord(
            id=record_ids.take(), product_id=product.id, sub_option_ids=ids,
            sub_sku=product.sub_sku_for(ids),
            inventory=rng.choice((0, 3, 12, 40, 75, 150, 240, 500, 999)),
            trigger=rng.randint(2, 10), track=rng.random() < 0.92,
            allow_negative=rng.random() < 0.3,
        ))


def build_customers(rng: random.Random, count: int = 36) -> list[Customer]:
    """Customers with non-ASCII names, US and Canadian addresses, some guests."""
    customers: list[Customer] = []
    ids = IdSequence(rng, rng.randint(4200000, 4300000), max_gap=90)
    for index in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{ascii_slug(first)}.{ascii_slug(last)}{index}@example.com"
        contact = {"first_name": first, "last_name": last, "email": email,
                   "phone": f"{rng.randint(201, 989)}555{rng.randint(1000, 1999)}"}
        canadian = rng.random() < 0.3
        street, city, state, postcode, rate = rng.choice(CA_ADDRESSES if canadian
                                                         else US_ADDRESSES)
        address = {"first_address": street, "company": rng.choice(COMPANIES),
                   "second_address": rng.choice(SECOND_LINES), "city": city, "state": state,
                   "country": "Canada" if canadian else "United States", "zip": postcode}
        billing_contact, billing_address = dict(contact), dict(address)
        if rng.random() < 0.2:
            b_street, b_city, b_state, b_zip, _ = rng.choice(US_ADDRESSES)
            billing_address = {"first_address": b_street, "company": address["company"],
                               "second_address": "", "city": b_city, "state": b_state,
                               "country": "United States", "zip": b_zip}
        guest = rng.random() < 0.2
        customers.append(Customer(
            customer_id=None if guest else ids.take(),
            username="Guest" if guest else f"{ascii_slug(first)[:1]}{ascii_slug(last)}",
            contact=contact, address=address, billing_contact=billing_contact,
            billing_address=billing_address, tax_rate=rate,
        ))
    return customers
