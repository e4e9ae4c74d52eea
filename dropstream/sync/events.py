"""What the flows tell the layers above them (scheduling reacts; sync never imports it).

    orders_pushed   a pushed order was imported     connection, imported (bool), first (bool)
    pushes_missed   the poll found orders no push delivered       connection, count
    shipments_arrived  a warehouse delivered shipments by hook    connection
"""

from __future__ import annotations

from django.dispatch import Signal

orders_pushed = Signal()
pushes_missed = Signal()
shipments_arrived = Signal()
