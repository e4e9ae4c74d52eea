"""The request meter keeps every request a killed process sent (DESIGN.md invariant 3)."""

from __future__ import annotations

import json

import pytest

from dropstream.metering import meter as meter_module
from dropstream.metering.meter import UNANSWERED, DbMeter, recover_journals, rows_from_journal
from dropstream.metering.models import ApiCall
from dropstream.platforms.base import MeteredCall

pytestmark = pytest.mark.django_db


def _call(n: int, status: int | None = 200) -> MeteredCall:
    return MeteredCall(platform="brightsites", method="GET", endpoint="GET /orders/:id",
                       status=status, duration_ms=1.5, attempt=1, call_id=f"{n:032x}")


def test_a_journal_gives_one_row_per_attempt_and_skips_a_torn_last_line(connection):
    meter = DbMeter(connection=connection, channel="sales_order", buffer_size=100)
    meter.sending(_call(1, None))
    meter(_call(1))
    meter.sending(_call(2, None))  # never answered
    text = meter._journal_path.read_text() + '{"t":"done","id":"00'  # the kill came mid-write

    rows = sorted(rows_from_journal(text), key=lambda r: r.call_id)

    assert [(r.call_id[-1], r.status_code, r.error) for r in rows] == [
        ("1", 200, ""), ("2", None, UNANSWERED)]
    assert {(r.connection_id, r.store_id, r.channel) for r in rows} == {
        (connection.pk, connection.store_id, "sales_order")}


def test_recovery_writes_a_dead_processs_rows_once_and_leaves_live_journals(connection,
                                                                            monkeypatch):
    live = DbMeter(connection=connection, channel="inventory", buffer_size=100)
    live(_call(7))  # this process's open meter: not recovered
    folder = meter_module.journal_folder()
    dead = folder / f"{meter_module._HOST}~999999~deadbeef~abc.jsonl"
    header = {"t": "meter", "connection": connection.pk, "store": connection.store_id,
              "channel": "shipment"}
    records = [header, {"t": "done", "id": "a" * 32, "platform": "brightsites",
                        "method": "POST", "endpoint": "POST /orders/:id/shipments",
                        "status": 201, "ms": 3, "attempt": 1, "error": "",
                        "at": "2026-12-01T10:00:00+00:00"}]
    dead.write_text("".join(json.dumps(r) + "\n" for r in records))
    ApiCall.objects.create(connection=connection, store=connection.store, channel="shipment",
                           platform="brightsites", method="POST",
                           endpoint="POST /orders/:id/shipments", status_code=201,
                           call_id="a" * 32)  # flushed before the process died

    assert recover_journals() == 0
    assert not dead.exists()
    assert live._journal_path.exists()
    assert ApiCall.objects.filter(call_id="a" * 32).count() == 1
    live.close()
    assert not live._journal_path.exists()
    assert ApiCall.objects.filter(call_id=f"{7:032x}").count() == 1


def test_a_journal_another_process_recovered_first_is_passed_over_quietly(connection,
                                                                          monkeypatch, caplog):
    folder = meter_module.journal_folder()
    folder.mkdir(parents=True, exist_ok=True)
    dead = folder / f"{meter_module._HOST}~999998~deadbeef~abd.jsonl"
    dead.write_text(json.dumps({"t": "meter", "connection": connection.pk}) + "\n")

    def recovered_elsewhere(path):
        path.unlink()  # the scheduler's tick took it between the listing and the read
        return False

    monkeypatch.setattr(meter_module, "_owner_alive", recovered_elsewhere)

    assert recover_journals() == 0
    assert [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []
