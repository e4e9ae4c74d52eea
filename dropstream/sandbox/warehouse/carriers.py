"""Carriers for the sandbox warehouse: ship-method codes → (carrier, service), tracking numbers.

Tracking numbers have each carrier's real shape and check digit, so a hub that validates or
links them sees realistic values:

    UPS          1Z + 6-char shipper + 2-digit service + 7 digits + check digit (18 chars)
    FedEx        12 digits, mod-11 check digit (FedEx Express)
    USPS         22 digits, IMpb 94… with a mod-10 check digit
    Canada Post  16 digits
    DHL          10 digits
    Purolator    12 digits
    other        SBX + 12 digits
"""

from __future__ import annotations

import random
import re
import string

# Lower-case prefixes of a ship-method code → the carrier's display name; longest match wins.
CARRIER_PREFIXES = {
    "ups": "UPS",
    "fedex": "FedEx",
    "fed ex": "FedEx",
    "usps": "USPS",
    "canada post": "Canada Post",
    "canadapost": "Canada Post",
    "dhl": "DHL",
    "purolator": "Purolator",
}

DEFAULT_SERVICE = {
    "UPS": "Ground",
    "FedEx": "Ground",
    "USPS": "Ground Advantage",
    "Canada Post": "Regular Parcel",
    "DHL": "Express Worldwide",
    "Purolator": "Ground",
}

DEFAULT_CARRIER = "UPS"

# The two digits after the shipper number in a UPS tracking number name the service.
_UPS_SERVICE_DIGITS = {"next day air": "01", "2nd day air": "02", "ground": "03",
                       "3 day select": "12", "worldwide express": "07", "standard": "11"}


def carrier_for(ship_method: str, *, default_carrier: str = DEFAULT_CARRIER,
                overrides: dict[str, tuple[str, str]] | None = None) -> tuple[str, str]:
    """Return (carrier, service) for an order's ship-method code.

    ``"UPS Ground"`` → ``("UPS", "Ground")``; ``"FEDEX_2_DAY"`` → ``("FedEx", "2 Day")``;
    a code naming no known carrier (``"Ground"``) ships with ``default_carrier`` and keeps the
    code as its service. ``overrides`` maps exact codes first.
    """
    code = ship_method.strip()
    if overrides and code in overrides:
        return overrides[code]
    words = " ".join(re.split(r"[\s_\-]+", code)).strip()
    lowered = words.lower()
    for prefix in sorted(CARRIER_PREFIXES, key=len, reverse=True):
        if lowered == prefix or lowered.startswith(prefix + " "):
            carrier = CARRIER_PREFIXES[prefix]
            service = _tidy_service(words[len(prefix):].strip())
            return carrier, service or DEFAULT_SERVICE[carrier]
    service = _tidy_service(words)
    return default_carrier, service or DEFAULT_SERVICE.get(default_carrier, "Ground")


def _tidy_service(text: str) -> str:
    """``GROUND`` → ``Ground`` for shouted codes; mixed-case text is kept as written."""
    if text.isupper():
        return " ".join(word.capitalize() for word in text.split())
    return text


def tracking_number(carrier: str, service: str, rng: random.Random) -> str:
    """A tracking number in the carrier's real format, drawn from ``rng``."""
    if carrier == "UPS":
        return ups_tracking(service, rng)
    if carrier == "FedEx":
        return fedex_tracking(rng)
    if carrier == "USPS":
        return usps_tracking(service, rng)
    if carrier == "Canada Post":
        return _digits(rng, 16)
    if carrier == "DHL":
        return _digits(rng, 10)
    if carrier == "Purolator":
        return _digits(rng, 12)
    return "SBX" + _digits(rng, 12)


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def ups_check_digit(body: str) -> str:
    """UPS check digit over the 15 characters after ``1Z``; letters count as (ord - 63) % 10."""
    total = 0
    for index, char in enumerate(body):
        value = int(char) if char.isdigit() else (ord(char) - 63) % 10
        total += value * 2 if index % 2 else value
    return str((10 - total % 10) % 10)


def ups_tracking(service: str, rng: random.Random) -> str:
    shipper = "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(6))
    service_digits = _UPS_SERVICE_DIGITS.get(service.lower(), "03")
    body = shipper + service_digits + _digits(rng, 7)
    return "1Z" + body + ups_check_digit(body)


def fedex_check_digit(body: str) -> str:
    """FedEx Express check digit over 11 digits: weights 1, 3, 7 from the right, mod 11."""
    weights = (1, 3, 7)
    total = sum(int(digit) * weights[index % 3] for index, digit in enumerate(reversed(body)))
    return str(total % 11 % 10)


def fedex_tracking(rng: random.Random) -> str:
    body = str(rng.randint(1, 9)) + _digits(rng, 10)
    return body + fedex_check_digit(body)


def mod10_check_digit(body: str) -> str:
    """USPS IMpb check digit: weights 3, 1 from the right, mod 10."""
    total = sum(int(digit) * (3 if index % 2 == 0 else 1)
                for index, digit in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def usps_tracking(service: str, rng: random.Random) -> str:
    prefix = "9405511" if "priority" in service.lower() else "9400111"
    body = prefix + _digits(rng, 14)
    return body + mod10_check_digit(body)
