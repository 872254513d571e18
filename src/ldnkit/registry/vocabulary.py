"""The registry's fixed vocabularies: statuses and their workflow, response levels, token roles."""

from __future__ import annotations

#: Approval workflow (WRI TerraMatch): only ``approved`` activities count toward area under restoration.
STATUSES: tuple[str, ...] = ("draft", "pending_approval", "information_required", "approved", "rejected")

#: Allowed status changes: from -> the statuses it may move to.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("pending_approval",),
    "pending_approval": ("information_required", "approved", "rejected", "draft"),
    "information_required": ("pending_approval", "draft"),
    "approved": ("draft",),  # re-opened for a correction, then approved again
    "rejected": ("draft",),
}

#: Status changes that only an approver (or admin) may make.
APPROVER_STATUSES: tuple[str, ...] = ("information_required", "approved", "rejected")

#: Response hierarchy of Land Degradation Neutrality (avoid > reduce > reverse).
LEVELS: tuple[str, ...] = ("avoid", "reduce", "reverse")

#: Token roles, weakest first: each role may do what the ones before it may.
ROLES: tuple[str, ...] = ("viewer", "editor", "approver", "admin")

#: Audit actions.
ACTIONS: tuple[str, ...] = ("create", "update", "status", "delete", "import")
