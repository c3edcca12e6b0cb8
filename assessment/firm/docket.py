"""The case files behind the docket on the Matters page: each matter the user is listed on, read
through the same role and wall checks as opening it (a refusal is logged), its read logged as a
view ("docket"), and only when it changed since the caller last read it."""
from __future__ import annotations

from dataclasses import dataclass

from assessment.core import casefile
from assessment.core.errors import AssessmentError
from assessment.firm import db
from assessment.firm.context import Actor
from assessment.firm.matters import Ctx, NotFound, member_matter
from assessment.firm.permissions import Forbidden


@dataclass
class Docketed:
    pk: int
    version: int
    case: casefile.CaseFile | None      # None: unchanged since the version the caller named, or unreadable
    problem: str = ""                   # why a changed case file could not be read


def case_files(who: Actor, pks: list[int], known: dict[int, int] | None = None, kb=None) -> list[Docketed]:
    """For each matter in `pks` that `who` may still read: its version and, where that differs
    from `known[pk]`, its case file. A matter the user is no longer listed on (or deleted since the
    list was made) is left out; the refusal is logged by the check."""
    known = known or {}
    out = []
    for pk in pks:          # each in its own transaction: a refusal rolls back its transaction (and is logged)
        with db.session() as s:
            ctx = Ctx.of(s, who)
            try:
                m = member_matter(ctx, pk, "matter.read")
            except (Forbidden, NotFound):
                continue
            if known.get(pk) == m.version:
                out.append(Docketed(pk, m.version, None))
                continue
            try:
                case, _ = casefile.loads_saved(m.casefile, f"matter {m.ref}", kb)
            except AssessmentError as exc:
                out.append(Docketed(pk, m.version, None, "; ".join(str(p) for p in exc.problems)[:300]))
                continue
            ctx.log("view", m, reason="docket")
            out.append(Docketed(pk, m.version, case))
    return out
