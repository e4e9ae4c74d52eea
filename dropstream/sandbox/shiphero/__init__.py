"""A simulator of the ShipHero public GraphQL API (specs: shiphero-graphql.md), for testing the
hub's ShipHero warehouse adapter over real HTTP on loopback. It shares no code with the hub.

Modules, by job:

* ``sandbox``  – ``ShipHeroSandbox``: lifecycle, URLs, the Python API (set-up, driver, faults).
* ``server``   – ``main(argv)`` for ``dropstream sandbox shiphero``.
* ``httpd``    – the stdlib HTTP server and handler.
* ``endpoint`` – the ``/graphql`` and ``/auth/*`` answers (auth, throttling, execution).
* ``schema``   – the GraphQL SDL; ``resolvers`` – what each root field does.
* ``credits``  – complexity and the credit bucket (§8); ``relay`` – connections (§7).
* ``state``, ``model`` – the records; ``orders``, ``stock``, ``fulfilment`` – their rules.
* ``auth``     – refresh and access tokens (§2).
* ``webhooks`` – delivery, signature, retries, health, faults (§11); ``payloads`` – bodies.
* ``faults``, ``meter`` – API faults and the request/credit meter; ``control`` – ``/_sandbox``.
* ``settings`` – every behaviour the spec marks as an assumption; ``clock``, ``ids``, ``net``.
"""

from dropstream.sandbox.shiphero.clock import SimClock
from dropstream.sandbox.shiphero.sandbox import AccountInfo, ShipHeroSandbox, WarehouseInfo
from dropstream.sandbox.shiphero.settings import Settings

__all__ = ["AccountInfo", "Settings", "ShipHeroSandbox", "SimClock", "WarehouseInfo"]
