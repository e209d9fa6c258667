"""What makes a scheduled edit *pending* — written once, for everyone who asks.

Pending: neither applied (``applied_revision``) nor cancelled (``cancelled_at``, set by people
and, with the error, when it no longer applied when due). The scheduler applies the pending
edits that are due (editing/schedule.py), a future ``asOf`` shows those due by its instant
(editing/asof.py), and ``scheduledEdits(pending: true)`` lists them (models/history.py).
"""

from __future__ import annotations

PENDING = "applied_revision IS NULL AND cancelled_at IS NULL"
