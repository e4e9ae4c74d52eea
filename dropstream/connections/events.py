"""What the connections domain announces; layers above react (scheduling recomputes the next
runs), so every caller — page, API, command — gets the same effect without knowing of it."""

from __future__ import annotations

from django.dispatch import Signal

# A connection was enabled or disabled (kwargs: connection). Sent after the change is saved,
# inside the caller's transaction.
connection_switched = Signal()
