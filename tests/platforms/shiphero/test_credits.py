"""Credits (spec §8): a throttled answer (code 30) is retried after the wait it states, and
the client paces itself from the credits each answer reports."""

from __future__ import annotations

from dropstream.platforms.base import AdapterContext
from dropstream.platforms.shiphero.adapter import ShipHeroWarehouse
from dropstream.platforms.shiphero.client import forget_tokens
from dropstream.sandbox.shiphero import ShipHeroSandbox, SimClock


def test_a_throttled_answer_is_retried_after_the_stated_wait_and_the_client_paces_itself():
    forget_tokens()
    with ShipHeroSandbox(seed=2, clock=SimClock()) as sim:
        sim.configure(credits_max=5, credits_restore_per_second=2)
        brand = sim.add_account("Credits", refresh_token="credits-refresh-token-01")
        adapter = ShipHeroWarehouse({"api_url": sim.url,
                                     "refresh_token": "credits-refresh-token-01",
                                     "shop_name": "hub"}, AdapterContext())
        try:
            sim.set_credits(brand, 0)
            adapter.validate_credentials()  # throttled first, then answered
            throttled = sim.meter_snapshot()["requests"]["by_outcome"]["throttled"]
            for _ in range(6):  # 6 look-ups of 3 credits with 2/s restored: must wait
                adapter.find_order("1001")
        finally:
            adapter.close()
        meter = sim.meter_snapshot()
    assert throttled == 1
    assert meter["requests"]["by_outcome"]["throttled"] <= 2  # paced, not refused each time
    assert adapter.client.budget.waited > 0
    assert adapter.context.state["credits_used"] == meter["credits"]["charged"]
