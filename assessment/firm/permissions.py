"""Who may do what. Checked on the server by every function that reads or writes (matters.py,
the knowledge-base and template saves, the admin pages), not only by which pages are shown.

Matters sit behind an ethical wall as well: a role that may read matters reads only those it is
listed on (`matter_access`), administrators included; an administrator manages the lists."""
from __future__ import annotations

ROLES = ("attorney", "paralegal", "staff", "admin")

ACTIONS: dict[str, set[str]] = {
    "matter.create": {"attorney", "paralegal", "admin"},
    "matter.read": {"attorney", "paralegal", "admin"},        # and listed on the matter
    "matter.write": {"attorney", "paralegal", "admin"},       # and listed on the matter
    "matter.delete": {"attorney", "admin"},                   # and listed on the matter (soft delete, restore)
    "matter.team": {"attorney", "admin"},                     # and listed: add or remove the matter's paralegals
    "review.write": {"attorney", "admin"},                    # the attorney's judgments in the memo
    "memo.generate": {"attorney", "paralegal", "admin"},
    "kb.edit": {"staff", "admin"},
    "template.edit": {"staff", "admin"},
    "users.manage": {"admin"},                                # accounts, roles, unlocks, matter access lists
    "mapping.agency": {"admin"},                              # a column mapping for every matter of an agency
    "log.read": {"admin"},
}


class Forbidden(Exception):
    """The signed-in user may not do this; the refusal is logged."""

    def __init__(self, action: str, why: str):
        super().__init__(f"not allowed: {why}")
        self.action, self.why = action, why


def allowed(role: str, action: str) -> bool:
    return role in ACTIONS[action]


def require(user, action: str) -> None:
    if user is None:
        raise Forbidden(action, "not signed in")
    if user.disabled or user.locked_at is not None:
        raise Forbidden(action, "the account is locked or disabled")
    if not allowed(user.role, action):
        raise Forbidden(action, f"the {user.role} role may not {action.replace('.', ' ')}")
