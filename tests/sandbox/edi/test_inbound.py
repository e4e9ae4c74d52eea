"""940s in, 997s out: envelope checks, 940 validation, duplicates, usage/version, 997 timing.

§5.2 codes, §5.3 samples, §8 rows 2–5 and 11.
"""

from __future__ import annotations

import pytest

from tests.sandbox.edi.edifiles import (
    SPEC_940,
    SPEC_997_ACCEPT,
    SPEC_997_REJECT,
    body,
    drop,
    interchange,
    only,
    order_set,
    out_names,
    read_out,
    simple_940,
    tagged,
    transaction,
)


def ack_lines(root) -> list[str]:
    return body(only(root, "997_"))


def test_the_spec_sample_is_answered_with_the_spec_997_byte_for_byte(root, make_robot):
    drop(root, SPEC_940)
    robot = make_robot(ack_requested="1")

    report = robot.tick()

    assert (report.files_received, report.orders_received, report.acks_written) == (1, 1, 1)
    [name] = out_names(root, "997_")
    assert name == "997_000002203_20260305143200.edi"
    assert (root / "out" / name).read_text() == SPEC_997_ACCEPT
    assert [path.name for path in (root / "in" / "processed").iterdir()] == [
        "940_000000101_20260305143200.edi"]
    [order] = robot.received("HUB-100234")
    assert order.lines == (("1", "TENT-4P-GRN", 2), ("2", "STOVE-01", 1))
    assert (order.isa13, order.gs06, order.st02, order.status) == ("000000101", "5001", "0001",
                                                                   "open")


def test_a_bad_unit_is_rejected_with_the_spec_rejection_997(root, make_robot):
    text = SPEC_940.replace("5001", "5002").replace("W01*2*EA**SK", "W01*2*XX**SK")
    drop(root, text)
    robot = make_robot(ack_requested="1")

    report = robot.tick()

    assert (report.orders_received, report.sets_rejected, report.files_rejected) == (0, 1, 1)
    assert (root / "out" / "997_000002203_20260305143200.edi").read_text() == SPEC_997_REJECT
    assert robot.orders() == []
    error = root / "in" / "error" / "940_000000101_20260305143200.edi.error.txt"
    assert "set 0001: AK5 R 5" in error.read_text()


ENVELOPE_DEFECTS = [
    # SE01 counts one segment too many → AK502 4.
    (dict(set_options={"se01": 10}), ["AK2*940*0001", "AK5*R*4", "AK9*R*1*1*0"]),
    # ST02 ≠ SE02 → AK502 3.
    (dict(set_options={"se02": "0002"}), ["AK2*940*0001", "AK5*R*3", "AK9*R*1*1*0"]),
    # GE01 says 2 sets, there is 1 → AK905 5.
    (dict(ge01=2), ["AK2*940*0001", "AK5*R", "AK9*R*2*1*0*5"]),
    # GS06 ≠ GE02 → AK905 4.
    (dict(ge02="5009"), ["AK2*940*0001", "AK5*R", "AK9*R*1*1*0*4"]),
]


@pytest.mark.parametrize("options, expected", ENVELOPE_DEFECTS,
                         ids=["se01", "st-se", "ge01", "gs-ge"])
def test_each_envelope_defect_gives_its_997_codes(root, make_robot, options, expected):
    ts = transaction(order_set(), **options.pop("set_options", {}))
    drop(root, interchange(ts, **options))
    robot = make_robot()

    robot.tick()

    assert ack_lines(root) == ["AK1*OW*5001", *expected]
    assert robot.orders() == []


def test_one_bad_set_among_good_ones_is_a_partial_acceptance(root, make_robot):
    drop(root, interchange(transaction(order_set("HUB-1")),
                           transaction(order_set("HUB-2"), "0002", se01=3),
                           transaction(order_set("HUB-3"), "0003")))
    robot = make_robot()

    robot.tick()

    assert ack_lines(root) == ["AK1*OW*5001", "AK2*940*0001", "AK5*A", "AK2*940*0002",
                               "AK5*R*4", "AK2*940*0003", "AK5*A", "AK9*P*3*3*2"]
    assert robot.receipt_counts() == {"HUB-1": 1, "HUB-3": 1}
    assert [path.name for path in (root / "in" / "processed").iterdir()] == [
        "940_000000101_20260305143200.edi"]


def test_a_repeated_set_control_number_and_a_missing_trailer(root, make_robot):
    text = interchange(transaction(order_set("HUB-1")), transaction(order_set("HUB-2")),
                       transaction(order_set("HUB-3"), "0003"))
    text = text.replace("SE*14*0003~\n", "")  # the last set loses its trailer
    drop(root, text)
    make_robot().tick()

    assert ack_lines(root) == ["AK1*OW*5001", "AK2*940*0001", "AK5*A", "AK2*940*0001",
                               "AK5*R*23", "AK2*940*0003", "AK5*R*2", "AK9*P*3*3*1"]


@pytest.mark.parametrize("body_change, expected", [
    (lambda lines: [line for line in lines if not line.startswith("W05")],
     ["AK3*W05*2**3", "AK5*R*5"]),
    (lambda lines: [line for line in lines if not line.startswith("W66")],
     ["AK3*W66*7**3", "AK5*R*5"]),
    (lambda lines: [line.replace("HUB-100234", "H" * 23) for line in lines],
     ["AK3*W05*2**8", "AK4*2*324*5*" + "H" * 23, "AK5*R*5"]),
    (lambda lines: [line.replace("W01*2*EA**SK*TENT-4P-GRN", "W01*2*EA") for line in lines],
     ["AK3*W01*9**8", "AK4*3*438*2", "AK5*R*5"]),
    (lambda lines: [line.replace("W01*2*EA**SK*TENT-4P-GRN", "W01*2*EA**SK") for line in lines],
     ["AK3*W01*9**8", "AK4*5*234*2", "AK5*R*5"]),
    (lambda lines: [line.replace("W01*2*EA**SK*TENT-4P-GRN", "W01*2*EA***TENT")
                    for line in lines], ["AK3*W01*9**8", "AK4*3*438*2", "AK4*4*235*2", "AK5*R*5"]),
    (lambda lines: [line.replace("W05*N", "W05*Q") for line in lines],
     ["AK3*W05*2**8", "AK4*1*473*7*Q", "AK5*R*5"]),
    (lambda lines: [*lines[:3], "ZZZ*surprise", *lines[3:]], ["AK3*ZZZ*5**2", "AK5*E"]),
], ids=["no-w05", "no-w66", "w0502-too-long", "r0304", "p0405-id", "p0405-qualifier",
        "w0501-code", "unknown-segment"])
def test_940_validation_errors(root, make_robot, body_change, expected):
    drop(root, interchange(transaction(body_change(order_set()))))
    robot = make_robot()

    robot.tick()

    lines = ack_lines(root)
    assert lines[1:-1] == ["AK2*940*0001", *expected]
    accepted = expected[-1] == "AK5*E"
    assert lines[-1] == ("AK9*E*1*1*1" if accepted else "AK9*R*1*1*0")
    assert len(robot.orders()) == (1 if accepted else 0)


def test_w66_is_optional_when_the_profile_says_so(root, make_robot):
    drop(root, interchange(transaction(order_set(w66=False))))
    robot = make_robot(require_w66=False)

    robot.tick()

    assert ack_lines(root)[-2:] == ["AK5*A", "AK9*A*1*1*1"]
    [order] = robot.orders()
    robot.ship_order(order.order_number)
    assert tagged(only(root, "945_"), "W27") == ["W27*U*UPSN*UPS Ground*PP"]


@pytest.mark.parametrize("usage, version, profile, expected", [
    ("P", "004010", {}, "AK9*R*1*1*0*1"),
    ("T", "004010UCS", {}, "AK9*R*1*1*0*2"),
    ("T", "004010UCS", {"version": "004010UCS"}, "AK9*A*1*1*1"),
    ("P", "004010", {"usage": "P"}, "AK9*A*1*1*1"),
    ("T", "004010", {"usage": "P"}, "AK9*R*1*1*0*1"),
])
def test_usage_indicator_and_version_per_profile(root, make_robot, usage, version, profile,
                                                 expected):
    drop(root, interchange(transaction(order_set()), usage=usage, version=version))
    robot = make_robot(**profile)

    robot.tick()

    written = only(root, "997_")
    assert ack_lines(root)[-1] == expected
    assert written.usage == robot.profile.usage
    assert written.groups[0].gs.get(8) == robot.profile.version
    assert len(robot.orders()) == (1 if expected.startswith("AK9*A") else 0)


def test_an_interchange_for_another_receiver_gets_no_997(root, make_robot):
    drop(root, SPEC_940.replace("WHSRECEIVER    ", "SOMEONEELSE    ", 1))
    robot = make_robot()

    robot.tick()

    assert out_names(root) == []
    assert "ISA08 'SOMEONEELSE' is not this warehouse" in (
        root / "in" / "error" / "940_000000101_20260305143200.edi.error.txt").read_text()


@pytest.mark.parametrize("garbage", [b"", b"not an interchange at all\n", b"ISA*00*short~"])
def test_an_unreadable_940_goes_to_error_with_no_997(root, make_robot, garbage):
    drop(root, garbage)
    report = make_robot().tick()

    assert (report.files_rejected, report.acks_written) == (1, 0)
    assert out_names(root) == []
    assert (root / "in" / "error" / "940_000000101_20260305143200.edi").read_bytes() == garbage


def test_it_reads_the_hubs_separators_and_line_ends(root, make_robot):
    text = SPEC_940.replace("~\n", "\x00").replace("*", "|").replace("\x00", "^\r\n")
    text = text.replace("|>^", "|:^")  # ISA16 ":" and terminator "^"
    drop(root, text)
    robot = make_robot(element_separator="|", segment_terminator="^", line_ending="")

    robot.tick()

    [name] = out_names(root, "997_")
    raw = (root / "out" / name).read_text()
    assert "\n" not in raw and raw.count("^") == 10 and "AK9|A|1|1|1^" in raw
    assert read_out(root, name).delimiters.element == "|"
    assert robot.receipt_counts() == {"HUB-100234": 1}


# -- duplicate control numbers (§8 row 3) ------------------------------------------------------


def drop_twice(root, *, same_isa13: bool = True, same_gs06: bool = True) -> None:
    drop(root, simple_940("HUB-7", [("TENT-4P-GRN", 1)], isa13="000000101", gs06="5001"),
         stamp="20260305143200")
    drop(root, simple_940("HUB-7", [("TENT-4P-GRN", 1)],
                          isa13="000000101" if same_isa13 else "000000102",
                          gs06="5001" if same_gs06 else "5002"),
         isa13="000000101" if same_isa13 else "000000102", stamp="20260305143300")


def test_a_reused_control_number_is_rejected_by_default(root, make_robot):
    drop_twice(root)
    robot = make_robot()

    robot.tick()

    first, second = (body(read_out(root, name)) for name in out_names(root, "997_"))
    assert first[-1] == "AK9*A*1*1*1"
    assert second == ["AK1*OW*5001", "AK2*940*0001", "AK5*R", "AK9*R*1*1*0"]
    assert robot.receipt_counts() == {"HUB-7": 1}
    assert "duplicate control numbers ISA13 000000101, GS06 5001: rejected" in (
        root / "in" / "error" / "940_000000101_20260305143300.edi.error.txt").read_text()


def test_a_reused_gs06_alone_counts_as_a_duplicate(root, make_robot):
    drop_twice(root, same_isa13=False)
    robot = make_robot()

    robot.tick()

    assert robot.receipt_counts() == {"HUB-7": 1}
    assert body(read_out(root, out_names(root, "997_")[1]))[-1] == "AK9*R*1*1*0"


def test_a_reused_control_number_can_be_silently_ignored(root, make_robot):
    drop_twice(root)
    robot = make_robot(duplicates="ignore")

    robot.tick()

    assert len(out_names(root, "997_")) == 1
    assert robot.receipt_counts() == {"HUB-7": 1}
    assert len(list((root / "in" / "processed").iterdir())) == 2
    assert "ignored" in robot.notes()[0]["reasons"][0]


def test_a_lax_partner_processes_a_reused_control_number_again(root, make_robot):
    drop_twice(root)
    robot = make_robot(duplicates="process")

    robot.tick()

    assert [body(read_out(root, name))[-1] for name in out_names(root, "997_")] == [
        "AK9*A*1*1*1", "AK9*A*1*1*1"]
    assert robot.receipt_counts() == {"HUB-7": 2}  # a duplicate order, as a lax 3PL makes
    first, second = robot.received("HUB-7")
    assert first.id != second.id and first.file != second.file


def test_new_control_numbers_with_a_known_order_number_are_a_second_receipt(root, make_robot):
    drop_twice(root, same_isa13=False, same_gs06=False)
    robot = make_robot()
    robot.tick()
    assert robot.receipt_counts() == {"HUB-7": 2}

    refusing = make_robot(refuse_known_order_numbers=True,
                          state_path=str(root.parent / "other.json"))
    for path in (root / "in" / "processed").iterdir():
        path.rename(root / "in" / path.name)
    refusing.tick()
    assert [(item["order_number"], item["reason"]) for item in refusing.rejections()] == [
        ("HUB-7", "order number already received")]


# -- unknown SKUs (§8 row 4) -------------------------------------------------------------------


def test_an_unknown_sku_is_accepted_then_canceled_in_the_945(root, make_robot):
    drop(root, simple_940("HUB-8", [("TENT-4P-GRN", 1), ("NO-SUCH", 2)], isa13="000000101",
                          gs06="5001"))
    robot = make_robot(unknown_sku="cancel_line")

    robot.tick()
    assert ack_lines(root)[-1] == "AK9*A*1*1*1"
    robot.ship_order("HUB-8")

    assert tagged(only(root, "945_"), "W12") == ["W12*CC*1*1*0*EA**SK*TENT-4P-GRN",
                                                 "W12*IC*2*0*2*EA**SK*NO-SUCH"]
    assert "NO-SUCH" not in robot.stock


def test_an_unknown_sku_can_refuse_the_order_out_of_band(root, make_robot):
    drop(root, simple_940("HUB-9", [("NO-SUCH", 2)], isa13="000000101", gs06="5001"))
    robot = make_robot(unknown_sku="reject_order", ship_delay_s=0.0)

    robot.tick()
    robot.ship_all_now()

    assert ack_lines(root)[-1] == "AK9*A*1*1*1"  # syntax fine: the 997 accepts it
    assert out_names(root, "945_") == []  # … and no 945 ever comes
    assert [(item["order_number"], item["reason"]) for item in robot.rejections()] == [
        ("HUB-9", "unknown SKU NO-SUCH on line 1")]
    assert [order.status for order in robot.received("HUB-9")] == ["rejected"]
    note = root / "in" / "error" / "940_000000101_20260305143200.edi.rejected.txt"
    assert note.read_text() == "HUB-9\tunknown SKU NO-SUCH on line 1\n"


def test_an_unknown_sku_is_taken_at_default_stock_by_default(root, make_robot):
    drop(root, simple_940("HUB-10", [("NEW-SKU", 2)], isa13="000000101", gs06="5001"))
    robot = make_robot()

    robot.tick()
    robot.ship_order("HUB-10")

    assert robot.stock["NEW-SKU"] == 98
    assert tagged(only(root, "945_"), "W12") == ["W12*CC*2*2*0*EA**SK*NEW-SKU"]


# -- 997 timing (§8 row 5) ---------------------------------------------------------------------


def test_the_997_can_wait_never_come_or_come_twice(root, make_robot, clock):
    drop(root, SPEC_940)
    delayed = make_robot(ack_delay_s=60.0)
    delayed.tick()
    assert out_names(root, "997_") == []
    clock.now += 59
    delayed.tick()
    assert out_names(root, "997_") == []
    clock.now += 1
    assert delayed.tick().acks_written == 1

    for mode, count in (("never", 0), ("twice", 2)):
        for path in root.rglob("*"):
            if path.is_file() and path.parent.name in ("out", "processed"):
                path.unlink()
        drop(root, SPEC_940)
        robot = make_robot(ack_mode=mode, state_path=str(root.parent / f"{mode}.json"))
        robot.tick()
        names = out_names(root, "997_")
        assert len(names) == count
        assert all(body(read_out(root, name))[0] == "AK1*OW*5001" for name in names)
        assert len({read_out(root, name).control for name in names}) == count
        assert robot.receipt_counts() == {"HUB-100234": 1}


def test_an_iea_fault_is_only_logged_as_there_is_no_997_code_for_it(root, make_robot, caplog):
    drop(root, SPEC_940.replace("IEA*1*000000101", "IEA*1*000000999"))
    robot = make_robot()

    robot.tick()

    assert ack_lines(root)[-1] == "AK9*A*1*1*1"
    assert "IEA02 '000000999' differs from ISA13 '000000101'" in caplog.text
    assert robot.receipt_counts() == {"HUB-100234": 1}
