"""A connection to an X12 partner: the Bright Sites sandbox over HTTP, the hub's flows, and the
sandbox EDI warehouse (``dropstream.sandbox.edi``, its own parser) on a mailbox folder or SFTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.utils import timezone

from dropstream.connections import actions
from dropstream.connections.models import Connection, Warehouse
from dropstream.sandbox.edi.profile import PartnerProfile
from dropstream.sandbox.edi.robot import EdiWarehouseRobot
from dropstream.sync.runner import RunResult
from tests.e2e.conftest import run_locked

# The robot is told when to ship; no random splits; no 846 unless asked.
QUIET = {"inventory_every_s": 0.0, "ship_delay_s": None, "split_rate": 0.0}
SETTINGS = {"sender_id": "HUBSENDER", "receiver_id": "WHSRECEIVER", "usage_indicator": "T"}


class Clock:
    """The robot's clock: real time unless moved on."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return datetime.now(UTC).timestamp() + self.offset


@dataclass
class X12Hub:
    connection: Connection
    robot: EdiWarehouseRobot
    root: Path
    control: object
    clock: Clock

    def run(self, channel: str, mode: str = "default", *, expect_ok: bool = True) -> RunResult:
        result = run_locked(self.connection, channel, mode)
        if expect_ok:
            assert result.ok, result.error
        return result

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse.objects.get(pk=self.connection.warehouse_id)

    def files(self, folder: str, prefix: str) -> list[str]:
        path = self.root / folder
        return sorted(p.name for p in path.glob(f"{prefix}*")) if path.exists() else []


def build_x12_hub(bs_store, root: Path, *, url: str | None = None, settings: dict | None = None,
                  robot_state: Path | None = None, stock: dict | None = None,
                  **profile: object) -> X12Hub:
    merchant = actions.create_merchant("Acme Apparel")
    store = actions.create_store(merchant, name="Acme", platform="brightsites", adapter={
        "subdomain": bs_store.subdomain, "api_token": bs_store.read_write_token,
        "api_url": bs_store.api_url, "import_since": "2000-01-01T00:00:00Z"})
    warehouse = actions.create_warehouse(
        merchant, description="EDI 3PL", platform="x12",
        adapter={"connection_string": url or f"file://{root}", **SETTINGS, **(settings or {})})
    connection = actions.create_connection(name="Acme", customer=merchant, store=store,
                                           warehouse=warehouse)
    actions.set_connection_enabled(connection, timezone.now())
    clock = Clock()
    robot = EdiWarehouseRobot(url or f"file://{root}", PartnerProfile.from_dict(
        {**QUIET, **profile}), stock=stock, default_stock=1000, clock=clock,
        state_path=str(robot_state or root.parent / "edi-robot.json"))
    return X12Hub(connection=connection, robot=robot, root=root, control=bs_store.control,
                  clock=clock)


def make_root(base: Path) -> Path:
    root = base / "edi"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    return root
