"""A simulator of the Extensiv 3PL Warehouse Manager REST API (SecureWMS, formerly 3PL Central).

Written from ``specs/extensiv-3plwm.md`` alone (its §11 "Simulator fidelity checklist" is the
scope); it shares no code with the hub's Extensiv adapter. The server side is stdlib only and
serves on loopback only.

Modules:

* ``api``       – the API routes behind the bearer check, with their roles (§4–§6).
* ``server``    – ``ExtensivSandbox`` (HTTP server, context manager) and the CLI ``main(argv)``.
* ``auth``      – client credentials and the OAuth2 token endpoint, bearer checks (§2).
* ``warehouse`` – one tenant: customers, facilities, items, stock, orders, lifecycle (§5, §6).
* ``model``     – the tenant's records and the seedable id mint (§11 #20).
* ``render``    – orders and stock summaries as HAL/camelCase or plain/PascalCase JSON (§3).
* ``rql``       – the RQL filter subset, ``sort`` and paging (§4).
* ``wire``      – clock, unqualified dates, casing, ETags and the §7 exception bodies.
* ``settings``  – every "(assumption)" of the spec as a setting tests can choose.
* ``traffic``   – fault book, request meter, request log and the optional rate budget (§8).
* ``admin``     – the control API under ``/_sandbox`` (not part of Extensiv).

    from dropstream.sandbox.extensiv.server import ExtensivSandbox

    with ExtensivSandbox(seed=7) as sandbox:
        tenant = sandbox.add_tenant("acme", client_id="id", client_secret="secret",
                                    user_login="hub-integration", user_login_id=412)
        tenant.add_customer(143, name="Acme Outdoor Co")
        tenant.add_facility(10, name="LAX-1")
        tenant.add_sku(143, "TENT-4P-GRN", stock={10: 14})
        httpx.post(sandbox.token_url, ...)
"""
