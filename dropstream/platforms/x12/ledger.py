"""Control numbers and what the hub sent, in the adapter's memory (specs §1.4).

One ledger per warehouse connection = per trading partner: ISA13 and GS06 count up from the
``first_control_number`` setting and are never handed out twice; ST02 restarts at 0001 in each
group. ``reserve`` takes the next pair and the caller saves the memory (``checkpoint``) before
the file leaves, so a kill after the upload can never give the same numbers to other content.

Memory layout (JSON, in ``AdapterContext.state``):

- ``control``: ``{"isa13": next, "gs06": next}`` when the adapter counts itself; run by the
  hub, the counters are the database-kept sequences ``x12.isa13`` / ``x12.gs06``
  (``AdapterContext.take_number``);
- ``sent``: submission key → ``{"isa13", "gs06", "created_at", "sha256", "orders", "sent_at",
  "ack", "ack_file", "overdue_reported"}`` — one 940 interchange; ``orders`` lists the order
  numbers in ST02 order (ST02 0001 is ``orders[0]``);
- ``answers``: SHA-256 of an inbound file → ``{"name", "isa13", "gs06", "created_at",
  "sha256", "sent_at"}`` — the hub's 997 for it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

MAX_SENT = 5000  # 940 interchanges remembered (the oldest acknowledged ones are forgotten)
MAX_ANSWERS = 2000  # 997s remembered


def now_text(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).isoformat()


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Ledger:
    """The control-number counter and the sent/answered records of one partner."""

    def __init__(self, state: dict[str, Any], first: int, checkpoint: Callable[[], None],
                 take_number: Callable[[str, int], int] | None = None) -> None:
        self.first = max(1, first)
        self.counters: dict[str, int] = state.setdefault("control", {})
        self.sent: dict[str, dict[str, Any]] = state.setdefault("sent", {})
        self.answers: dict[str, dict[str, Any]] = state.setdefault("answers", {})
        self._checkpoint = checkpoint
        self._take_number = take_number

    def reserve(self) -> tuple[int, int]:
        """Take the next ISA13 and GS06 (the caller records what they are for, then saves).

        With the hub's ``take_number`` the counters live in the database, taken atomically:
        the shipment and inventory runs of one warehouse answer files at the same time, and
        must never get the same number. Without it (a bare adapter), ``control`` counts here.
        """
        if self._take_number is not None:
            return (self._take_number("x12.isa13", self.first),
                    self._take_number("x12.gs06", self.first))
        isa13 = max(self.first, int(self.counters.get("isa13", 0)))
        gs06 = max(self.first, int(self.counters.get("gs06", 0)))
        self.counters["isa13"], self.counters["gs06"] = isa13 + 1, gs06 + 1
        return isa13, gs06

    def save(self) -> None:
        """Persist the memory now (before the file that uses the numbers leaves)."""
        self._prune()
        self._checkpoint()

    def sent_for_group(self, gs06: str) -> tuple[str, dict[str, Any]] | None:
        """The 940 submission whose group control number is ``gs06``."""
        if not gs06.isdigit():
            return None
        number = int(gs06)
        return next(((key, record) for key, record in self.sent.items()
                     if record.get("gs06") == number), None)

    def _prune(self) -> None:
        if len(self.sent) > MAX_SENT:
            done = sorted((record.get("created_at") or "", key)
                          for key, record in self.sent.items() if record.get("ack"))
            for _, key in done[:len(self.sent) - MAX_SENT]:
                del self.sent[key]
        if len(self.answers) > MAX_ANSWERS:
            oldest = sorted((record.get("created_at") or "", key)
                            for key, record in self.answers.items())
            for _, key in oldest[:len(self.answers) - MAX_ANSWERS]:
                del self.answers[key]
