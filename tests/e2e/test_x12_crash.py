"""200 orders to an X12 partner over SFTP, with the hub's process SIGKILLed twice while a 940
is on its way: once after the upload and before the rename (the file never became visible),
once after the rename landed and before the hub heard of it. Every order reaches the partner
exactly once, and no control number is used twice, across the restarts."""

from __future__ import annotations

import asyncio
import hashlib
import signal
from collections import Counter

import asyncssh
import pytest

from dropstream.intents.models import Intent
from dropstream.orders.models import Order, OrderStatus
from tests.e2e.x12_hub import build_x12_hub
from tests.fixtures import sftp as sftp_fixture

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes"),
              pytest.mark.django_db(transaction=True)]
S = OrderStatus


class _HoldingSftp(sftp_fixture._Sftp):
    """Holds a rename to a name with the server's ``hold_before_rename`` prefix *before*
    doing it; once released the rename fails: the client died with its upload in ``.part``."""

    async def rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self._before(newpath)
        await super().rename(oldpath, newpath)

    async def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self._before(newpath)
        await super().posix_rename(oldpath, newpath)

    async def _before(self, newpath: bytes) -> None:
        prefix = getattr(self._server, "hold_before_rename", "")
        if prefix and newpath.rsplit(b"/", 1)[-1].startswith(prefix.encode()):
            self._server.renamed.set()
            while not self._server.released.is_set():
                await asyncio.sleep(0.02)
            raise asyncssh.SFTPFailure("the client is gone")


class HoldingServer(sftp_fixture.SftpServer):
    hold_before_rename: str = ""

    async def _listen(self) -> asyncssh.SSHAcceptor:
        return await asyncssh.create_server(
            lambda: sftp_fixture._Auth(self), self.host, self.port,
            server_host_keys=[self.host_key], sftp_factory=lambda chan: _HoldingSftp(chan, self),
            allow_scp=False, login_timeout=10, keepalive_interval=0)

    def release(self) -> None:
        self.hold_before_rename = ""
        super().release()


@pytest.fixture
def holding_server(tmp_path):
    root = tmp_path / "sftp"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    server = HoldingServer(root=root)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def hub_files(root) -> list[bytes]:
    """Every interchange the hub wrote, wherever the partner moved it."""
    return [path.read_bytes() for path in (root / "in").rglob("*.edi")
            if path.name.startswith(("940_", "997_"))]


def test_two_hundred_orders_exactly_once_with_kills_around_the_rename(
        bs_store, tmp_path, holding_server, hub_processes):
    server = holding_server
    hub = build_x12_hub(bs_store, server.root, url=server.connection_string,
                        settings={"orders_per_interchange": 50})
    # The partner works the same folders directly (the hub goes through SFTP).
    robot = type(hub.robot)(f"file://{server.root}", hub.robot.profile, default_stock=10_000,
                            state_path=str(tmp_path / "robot.json"))
    home = str(tmp_path / "hub-home")
    conn = str(hub.connection.pk)
    hub_processes.extra_env["DROPSTREAM_RUN_LEASE_SECONDS"] = "2"

    def start():
        return hub_processes.start("sync", "run", conn, "--channel", "sales_order",
                                   DROPSTREAM_HOME=home)

    def killed_at_the_rename(hold: str) -> None:
        server.renamed.clear()
        server.released.clear()
        setattr(server, hold, "940_")
        doomed = start()
        assert server.renamed.wait(120), hub_processes.output(doomed)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        server.release()

    hub.control.create_orders(100, status="paid")
    killed_at_the_rename("hold_before_rename")  # uploaded as .part, never renamed
    assert list((server.root / "in").glob("940_*")) == []
    assert list((server.root / "in").glob(".940_*.part"))
    finished = hub_processes.wait(start())
    assert finished.returncode == 0, finished.output
    robot.tick()

    hub.control.create_orders(100, status="paid")
    killed_at_the_rename("hold_after_rename")  # renamed; the hub never heard back
    finished = hub_processes.wait(start())
    assert finished.returncode == 0, finished.output
    robot.tick()
    finished = hub_processes.wait(start())  # reads the 997s
    assert finished.returncode == 0, finished.output

    assert Order.objects.count() == 200
    assert set(Order.objects.values_list("status", flat=True)) == {S.OPEN}
    counts = robot.receipt_counts()
    assert len(counts) == 200 and set(counts.values()) == {1}
    assert [note for note in robot.notes() if "duplicate" in str(note)] == []
    # One number, one content: ISA13 (and GS06) never repeat across all the hub's files.
    files = hub_files(server.root)
    isa13 = Counter(data[90:99] for data in files)
    assert [number for number, count in isa13.items() if count > 1] == []
    assert len({hashlib.sha256(data).digest() for data in files}) == len(files)
    # The re-sent interchange kept the numbers reserved before the kill: none skipped either.
    assert sorted(int(number) for number in isa13) == [1, 2, 3, 4]
    # Both kills landed mid-batch: each of those batches was completed by a later run.
    assert Intent.objects.filter(kind="export", attempts__gte=2).count() == 2
