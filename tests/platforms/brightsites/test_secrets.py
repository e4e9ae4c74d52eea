"""The token never shows: not in log lines (httpx's own at DEBUG included), exception text,
reprs or meter rows — with the token in the header and with the legacy ``?token=`` form."""

from __future__ import annotations

import logging
import traceback
from datetime import date

import pytest

from dropstream.platforms.base import StoreShipment, StoreShipmentLine
from dropstream.platforms.errors import PlatformError
from tests.fixtures.secret_leaks import SECRET_MARKER, make_secret
from tests.platforms.brightsites.helpers import make_adapter, settings_for

LOGGERS = ("httpx", "httpcore", "dropstream")


class RawRecords(logging.Handler):
    """Formats records where they are emitted, before any root handler's filter touches them."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.lines.append(text)


@pytest.fixture
def raw_log():
    handler = RawRecords()
    for name in LOGGERS:
        logging.getLogger(name).addHandler(handler)
    yield handler
    for name in LOGGERS:
        logging.getLogger(name).removeHandler(handler)


def exception_texts(error: BaseException) -> list[str]:
    """str, repr and the formatted traceback of an error and everything chained to it."""
    texts = ["".join(traceback.format_exception(error))]
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        texts += [str(error), repr(error), repr(vars(error))]
        error = error.__cause__ or error.__context__
    return texts


def run_everything(store, settings) -> tuple[list[str], list]:
    """Successes, retries, 401/403/404, a timeout, a lost POST answer and a refused connection."""
    errors: list[BaseException] = []
    adapter, meter = make_adapter(store, settings=settings, read_timeout=0.3)
    [order_id] = store.control.create_orders(2)[-1:]
    line = store.control.get_order(order_id)["line_items"][0]
    store.control.add_faults([
        {"endpoint": "GET /orders", "action": "status", "status": 500, "count": 1},
        {"endpoint": "GET /orders/:id", "action": "timeout", "delay_ms": 1000, "count": 1},
        {"endpoint": "POST /orders/:id/shipments", "action": "lose_response", "count": 1},
    ])
    list(adapter.list_orders(updated_since=None, status="paid"))
    adapter.get_order(str(order_id))
    adapter.post_shipment(StoreShipment(str(order_id), "1ZTRACK", "UPS", "Ground",
                                        date(2025, 5, 15),
                                        (StoreShipmentLine(str(line["id"]), 1),)))
    adapter.write_inventory({"NO-SUCH": 1})
    for call in (lambda: adapter.get_order("99999999"),
                 lambda: adapter.client.request("PUT", f"/orders/{order_id}",
                                                endpoint="PUT /orders/:id",
                                                json_body={"order": {"status": "bogus"}})):
        with pytest.raises(PlatformError) as caught:
            call()
        errors.append(caught.value)
    adapter.close()
    for broken in ({"api_token": make_secret("wrong")},
                   {"api_url": "http://127.0.0.1:9/acme/api/v2.6.1"}):
        other, other_meter = make_adapter(store, settings={**settings, **broken},
                                          max_attempts=2)
        with pytest.raises(PlatformError) as caught:
            other.validate_credentials()
        errors.append(caught.value)
        meter.extend(other_meter)
        other.close()
    read_only, ro_meter = make_adapter(store, settings={**settings,
                                                        "api_token": store.read_only_token})
    with pytest.raises(PlatformError) as caught:
        read_only.set_order_shipped(str(order_id))
    errors.append(caught.value)
    meter.extend(ro_meter)
    read_only.close()
    texts = [text for error in errors for text in exception_texts(error)]
    texts += [repr(adapter), repr(adapter.client)]
    return texts, list(meter)


@pytest.mark.parametrize("token_in_query", [False, True])
def test_the_token_appears_in_no_log_line_exception_or_meter_row(bs_store, caplog, raw_log,
                                                                 token_in_query):
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    settings = settings_for(bs_store, token_in_query=token_in_query)

    texts, meter = run_everything(bs_store, settings)

    http_lines = [line for line in raw_log.lines if "HTTP request:" in line]
    assert len(http_lines) >= 10  # every request was logged, with its URL (at DEBUG)
    assert {c.status for c in meter} >= {200, 401, 403, 404, 422, 500, None}
    logged = [r.getMessage() for r in caplog.records] + raw_log.lines + [caplog.text]
    everything = logged + texts + [repr(call) for call in meter]
    leaks = [text for text in everything if SECRET_MARKER in text]
    assert leaks == []
    assert bs_store.read_write_token not in "".join(everything)


def test_the_query_form_really_sends_the_token_in_the_query(bs_store):
    adapter, _ = make_adapter(bs_store, settings=settings_for(bs_store, token_in_query=True))

    adapter.validate_credentials()

    # The sandbox accepted it, and counted it under the token (shown masked by the sandbox).
    by_token = bs_store.control.meter()["by_token"]
    assert list(by_token.values()) == [1]
    assert list(by_token)[0].endswith(bs_store.read_write_token[-4:])
