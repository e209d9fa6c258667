"""Editing jurisdictions (issue 3): revisions and history, the edit operations, revert,
scheduled (effective-dated) edits and ``asOf`` reads.

- ``revisions``: :func:`open_revision` / :func:`close_revision` — every writer of jurisdiction
  data wraps its writes between the two (the contract in notes/contracts.md).
- ``operations``: reassign, moveZone, redraw, split, merge, and create/update/retire of units.
- ``validation``: the one layer that checks the domain data an edit brings in (code formats
  and parents, names, points inside the county, duplicate codes).
- ``execute``: one edit in an open transaction — validation, the operation (with its station
  scope checks, ``scope``), the per-unit lock; shared by direct and scheduled edits.
- ``runner``: :func:`run_edit` — authorisation, dry runs, scheduling, one transaction per edit.
- ``revert``: restore the state before a revision, as a new revision.
- ``schedule``: edits with a future ``effectiveFrom`` and :func:`apply_due` — checked again
  under their author's scope when they take effect, and never over a later change.
"""
