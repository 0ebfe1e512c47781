"""The one door to the shared registry: the only code that writes it.

``write`` locks, plans (with a planner the caller gives), checks, snapshots, writes kind by
kind, reads back and logs; ``plan`` and ``read`` give the same consistent view without
writing. Below it: the plan model (``plans``), saved plans (``saved``), the apply log
(``applylog``), snapshots (``backups``), delete protection (``protection``) and the writes
themselves (``writes``).
"""

from feast_federation.transaction.transaction import (
    Planner,
    Promotion,
    Safeguards,
    Writer,
    note,
    plan,
    read,
    write,
)

__all__ = ["Planner", "Promotion", "Safeguards", "Writer", "note", "plan", "read", "write"]
