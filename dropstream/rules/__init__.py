"""Order rules: per-store, per-hook rules whose CEL conditions decide what happens to an order.

``models`` (Rule), ``expressions`` (the CEL sandbox), ``facts`` (what a rule sees), ``engine``
(pure evaluation: decisions and a trace), ``actions`` (managing rules), ``errors``.
"""
