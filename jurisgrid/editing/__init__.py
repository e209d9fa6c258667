"""Editing jurisdictions (issue 3): revisions and history, the edit operations, revert,
scheduled (effective-dated) edits and ``asOf`` reads.

- ``revisions``: :func:`open_revision` / :func:`close_revision` — every writer of jurisdiction
  data wraps its writes between the two (the contract in notes/contracts.md).
- ``operations``: reassign, moveZone, redraw, split, merge, and create/update/retire of units.
- ``runner``: :func:`run_edit` — authorisation, dry runs, scheduling, one transaction per edit.
- ``revert``: restore the state before a revision, as a new revision.
- ``schedule``: edits with a future ``effectiveFrom`` and :func:`apply_due`.
"""
