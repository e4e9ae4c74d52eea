"""``dropstream sandbox edi``: run the simulated X12 warehouse until SIGTERM or Ctrl-C.

``main(argv)`` builds a ``PartnerProfile`` from ``--profile FILE.json`` (any profile field)
and the options below (which win), then loops ``EdiWarehouseRobot.tick()``. Only local folders
and SFTP logins on loopback hosts are accepted (specs/x12-warehouse.md §6, §8).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from dropstream.sandbox.edi.profile import (
    ACK_MODES,
    DUPLICATE_MODES,
    LINE_ENDINGS,
    LX_MODES,
    SHORT_STOCK_MODES,
    TRACKING_LOCATIONS,
    UNKNOWN_SKU_MODES,
    WRITE_MODES,
    PartnerProfile,
)
from dropstream.sandbox.edi.robot import EdiWarehouseRobot
from dropstream.sandbox.warehouse.folder import describe_root, local_root

PROG = "dropstream sandbox edi"


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _stock_entry(text: str) -> tuple[str, int]:
    sku, sep, units = text.rpartition("=")
    if not sep or not sku or not units.isdigit():
        raise argparse.ArgumentTypeError("must be SKU=UNITS, e.g. TENT-4P-GRN=12")
    return sku, int(units)


def _codes(text: str) -> tuple[str, ...]:
    return tuple(code.strip() for code in text.split(",") if code.strip())


# Option name → (profile field, argparse keywords).
PROFILE_OPTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "--ship-delay": ("ship_delay_s", {"type": _non_negative,
                                      "help": "seconds from receipt to the 945 (default 30)"}),
    "--ship-on-demand": ("ship_delay_s", {"action": "store_const", "const": None,
                                          "help": "never ship by itself"}),
    "--pick-delay": ("pick_delay_s", {"type": _non_negative,
                                      "help": "seconds until an order is picked: a cancel "
                                              "after that is too late (default 10)"}),
    "--inventory-every": ("inventory_every_s", {"type": float,
                                                "help": "seconds between 846 snapshots; "
                                                        "0 = none (default 86400)"}),
    "--ack-delay": ("ack_delay_s", {"type": _non_negative, "help": "seconds before the 997"}),
    "--ack-mode": ("ack_mode", {"choices": ACK_MODES, "help": "997s: once, never, twice"}),
    "--duplicates": ("duplicates", {"choices": DUPLICATE_MODES,
                                    "help": "a re-used ISA13/GS06: reject, ignore, process"}),
    "--unknown-sku": ("unknown_sku", {"choices": UNKNOWN_SKU_MODES,
                                      "help": "accept, cancel_line (945 IC), reject_order"}),
    "--no-w66": ("require_w66", {"action": "store_const", "const": False,
                                 "help": "do not require W66 in 940s"}),
    "--tracking": ("tracking_location", {"choices": TRACKING_LOCATIONS,
                                         "help": "where 945 tracking numbers go"}),
    "--lx-per": ("lx_per", {"choices": LX_MODES, "help": "one 945 LX per package or line"}),
    "--split-rate": ("split_rate", {"type": _rate, "help": "orders in two packages"}),
    "--partial-rate": ("partial_rate", {"type": _rate, "help": "lines shipped short (CP)"}),
    "--backorder-rate": ("backorder_rate", {"type": _rate, "help": "lines back-ordered (BP)"}),
    "--cancel-line-rate": ("cancel_line_rate", {"type": _rate, "help": "lines canceled (IC)"}),
    "--short-stock": ("short_stock", {"choices": SHORT_STOCK_MODES,
                                      "help": "too little stock: cancel (CP) or backorder"}),
    "--backorder-delay": ("backorder_delay_s", {"type": _non_negative,
                                                "help": "seconds before a BP rest ships"}),
    "--qty-codes": ("qty_codes", {"type": _codes, "help": "846 QTY01 codes, e.g. 33,17"}),
    "--skus-per-846": ("skus_per_846_set", {"type": int,
                                            "help": "split 846s into sets of this many SKUs"}),
    "--wrong-ctt": ("wrong_ctt", {"action": "store_const", "const": True,
                                  "help": "fault: CTT01 one too many in every 846"}),
    "--usage": ("usage", {"choices": ("T", "P"), "help": "ISA15 written and accepted"}),
    "--gs-version": ("version", {"help": "GS08 written and accepted (default 004010)"}),
    "--warehouse-id": ("warehouse_id", {"help": "ISA06/GS02 of the warehouse"}),
    "--hub-id": ("hub_id", {"help": "ISA08/GS03 of the hub"}),
    "--element-separator": ("element_separator", {"help": "default *"}),
    "--component-separator": ("component_separator", {"help": "default >"}),
    "--segment-terminator": ("segment_terminator", {"help": "default ~ (\\n allowed)"}),
    "--line-ending": ("line_ending", {"choices": tuple(LINE_ENDINGS),
                                      "help": "after each terminator: lf, crlf, none"}),
    "--ack-timeout": ("ack_expected_within_s", {"type": _non_negative,
                                                "help": "seconds the hub has for its 997"}),
    "--resend-after": ("resend_after_s", {"type": _non_negative,
                                          "help": "resend unacknowledged files after this"}),
    "--burst-every": ("burst_every_s", {"type": _non_negative,
                                        "help": "drop outgoing files together on this period"}),
    "--write-mode": ("write_mode", {"choices": WRITE_MODES,
                                    "help": "atomic (temp name + rename) or direct (fault)"}),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="A simulated X12 3PL warehouse: reads 940s, answers 997s, "
                               "writes 945s and 846s, expects the hub's 997s.")
    parser.add_argument("--root", required=True,
                        help="file:///absolute/path or sftp://user:password@127.0.0.1:port")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--profile", type=Path, help="a JSON object of PartnerProfile fields")
    parser.add_argument("--stock", action="append", default=[], metavar="SKU=UNITS",
                        type=_stock_entry, help="units on hand at start; repeat")
    parser.add_argument("--default-stock", type=int, default=100,
                        help="units of a SKU first seen in a 940 (unknown-sku accept)")
    parser.add_argument("--poll", type=_non_negative, default=2.0,
                        help="seconds between passes (default 2)")
    parser.add_argument("--state", default=None, help="state file (default: beside a local "
                        "root, or in the data directory for SFTP)")
    for option, (_name, keywords) in PROFILE_OPTIONS.items():
        parser.add_argument(option, dest=f"profile__{option[2:].replace('-', '_')}",
                            default=argparse.SUPPRESS, **keywords)
    return parser


def profile_from(args: argparse.Namespace) -> PartnerProfile:
    """The profile file's settings, then every profile option given on the command line."""
    values: dict[str, Any] = {}
    if args.profile is not None:
        loaded = json.loads(args.profile.read_text(encoding="utf-8"))
        if not isinstance(loaded, dict):
            raise ValueError("the profile file must hold a JSON object")
        values.update(loaded)
    for option, (name, _) in PROFILE_OPTIONS.items():
        dest = f"profile__{option[2:].replace('-', '_')}"
        if hasattr(args, dest):
            value = getattr(args, dest)
            values[name] = LINE_ENDINGS[value] if name == "line_ending" else value
    if values.get("segment_terminator") == "\\n":
        values["segment_terminator"] = "\n"
    return PartnerProfile.from_dict(values)


def main(argv: list[str]) -> int:
    """Run until SIGTERM or Ctrl-C; 0, or 2 for an unusable root or profile."""
    args = build_parser().parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        profile = profile_from(args)
        robot = EdiWarehouseRobot(args.root, profile, seed=args.seed,
                                  stock=dict(args.stock) or None,
                                  default_stock=args.default_stock, state_path=args.state)
    except (ValueError, OSError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    directory = local_root(args.root)
    if directory is not None:
        for name in ("in", "out"):
            (directory / name).mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    print(f"sandbox EDI warehouse on {describe_root(args.root)}: {profile.warehouse_id} ↔ "
          f"{profile.hub_id}, ISA15 {profile.usage}, seed {args.seed}; Ctrl-C to stop",
          flush=True)
    try:
        robot.run_forever(poll_s=args.poll, stop_event=stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        robot.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print("sandbox EDI warehouse stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
