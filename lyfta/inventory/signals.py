"""What stock tells the apps above it, without knowing them (issue 19 point 4: stock knows no
orders). Orders listens to `stock_available` to give backordered lines their reservation."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the transaction that made units of an article available (received, or back from
# reconditioning), with `actor` and `article`. A receiver's error undoes the whole change.
stock_available = Signal()
