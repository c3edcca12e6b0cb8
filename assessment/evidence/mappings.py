"""Column mappings remembered for files with the same headers, so a correction made once is not
made again. Two kinds, both in the database and both logged when saved:

- a matter's own: any user who may change the matter remembers a mapping for its later files;
- an agency's (by ORI): only an administrator sets one, for every matter's files from that agency.

A remembered mapping is never applied silently: the file's plan says which one was used, by whom
and when (`source` and the reasons), the Evidence page shows it, and a matter's own mapping wins
over the agency's. Nothing one user saves for one matter changes another matter's findings."""
from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import or_, select

from assessment.evidence import sniff
from assessment.firm import db
from assessment.firm.context import Actor
from assessment.firm.matters import Ctx, member_matter, require_role
from assessment.firm.tables import ColumnMapping, User

ORI_RE = r"^[A-Z]{2}[0-9A-Z]{7}$"


def signature_sha(plan: sniff.FilePlan) -> str:
    return hashlib.sha256(plan.signature().encode("utf-8")).hexdigest()


@dataclass
class Remembered:
    """The mappings that may apply to one matter's files: its own, and the agencies'."""
    matter: dict[str, dict] = field(default_factory=dict)                  # signature -> mapping
    agency: dict[tuple[str, str], dict] = field(default_factory=dict)      # (ORI, signature) -> mapping

    def find(self, ori: str | None, signature: str) -> tuple[str, dict] | None:
        if signature in self.matter:
            return "this matter", self.matter[signature]
        if ori and (ori.upper(), signature) in self.agency:
            return f"agency {ori.upper()}", self.agency[(ori.upper(), signature)]
        return None


def _entry(row: ColumnMapping, who: str) -> dict:
    return {**json.loads(row.mapping), "saved_on": f"{row.saved_at:%Y-%m-%d}", "saved_by": who}


def load(ctx: Ctx, pk: int | None) -> Remembered:
    """The mappings for matter `pk` (the user must be listed on it) and every agency's."""
    if pk is not None:
        member_matter(ctx, pk, "matter.read")
    rows = ctx.s.execute(select(ColumnMapping, User.display_name).outerjoin(User, User.id == ColumnMapping.saved_by)
                         .where(or_(ColumnMapping.matter_id.is_(None), ColumnMapping.matter_id == pk))
                         .order_by(ColumnMapping.id)).all()
    out = Remembered()
    for row, who in rows:
        if row.matter_id is None:
            out.agency[(row.ori or "", row.signature_sha)] = _entry(row, who or "-")
        else:
            out.matter[row.signature_sha] = _entry(row, who or "-")
    return out


def _store(ctx: Ctx, plan: sniff.FilePlan, matter_id: int | None, ori: str | None) -> None:
    sig = signature_sha(plan)
    row = ctx.s.execute(select(ColumnMapping).where(
        ColumnMapping.signature_sha == sig,
        ColumnMapping.matter_id == matter_id if matter_id is not None else ColumnMapping.matter_id.is_(None),
        ColumnMapping.ori == ori if ori is not None else ColumnMapping.ori.is_(None))).scalar_one_or_none()
    data = json.dumps({"headers": list(plan.headers), "columns": dict(plan.columns), "formats": dict(plan.formats)},
                      sort_keys=True)
    if row is None:
        ctx.s.add(ColumnMapping(matter_id=matter_id, ori=ori, signature_sha=sig, mapping=data, saved_by=ctx.user.id))
    else:
        row.mapping, row.saved_by = data, ctx.user.id
    ctx.s.flush()


def save_for_matter(ctx: Ctx, pk: int, plan: sniff.FilePlan) -> None:
    """Remember `plan`'s mapping for this matter's files with the same headers (logged)."""
    m = member_matter(ctx, pk, "matter.write")
    _store(ctx, plan, m.id, None)
    ctx.log("mapping-save", m, object_type="column-mapping", object_id=f"{m.id}:{signature_sha(plan)[:12]}",
            reason=f"for this matter: {len(plan.columns)} columns")


def save_for_agency(ctx: Ctx, ori: str, plan: sniff.FilePlan) -> None:
    """Remember `plan`'s mapping for every matter's files from agency `ori` (administrators only; logged)."""
    require_role(ctx, "mapping.agency")
    ori = ori.upper()
    if not re.match(ORI_RE, ori):
        raise ValueError(f"{ori!r} is not an ORI (two letters and seven letters or digits)")
    _store(ctx, plan, None, ori)
    ctx.log("mapping-save", None, object_type="column-mapping", object_id=f"{ori}:{signature_sha(plan)[:12]}",
            reason=f"for agency {ori}, all matters: {len(plan.columns)} columns")


# ---- services: each in its own transaction, for the Evidence page -----------------------------------
def remembered(who: Actor, pk: int | None) -> Remembered:
    """`load` in its own transaction."""
    with db.session() as s:
        return load(Ctx.of(s, who), pk)


def remember_for_matter(who: Actor, pk: int, plan: sniff.FilePlan) -> None:
    """`save_for_matter` in its own transaction."""
    with db.session() as s:
        save_for_matter(Ctx.of(s, who), pk, plan)


def remember_for_agency(who: Actor, ori: str, plan: sniff.FilePlan) -> None:
    """`save_for_agency` in its own transaction."""
    with db.session() as s:
        save_for_agency(Ctx.of(s, who), ori, plan)


def file_ori(s: sniff.Sample) -> str | None:
    """The agency a file comes from: the most common ORI value in its first rows."""
    h = s.plan.columns.get("ori")
    if not h:
        return None
    i = s.plan.headers.index(h)
    vals = [r[i].strip().upper() for r in s.rows if i < len(r) and re.match(ORI_RE, r[i].strip().upper())]
    return Counter(vals).most_common(1)[0][0] if vals else None


def plan_for(path: Path, vocab: dict[str, tuple[str, ...]], ori: str | None = None,
             sample: sniff.Sample | None = None, remembered: Remembered | None = None) -> sniff.FilePlan:
    """Detect how to read a file (or take the caller's sample of it); a remembered mapping for
    these headers (the matter's own, else its agency's) wins, and the plan says which it is."""
    s = sample or sniff.sample(path, vocab)
    agency = ori or file_ori(s)
    got = remembered.find(agency, signature_sha(s.plan)) if remembered else None
    if got:
        scope, entry = got
        plan = s.plan.model_copy(deep=True)
        plan.columns = {m: h for m, h in entry["columns"].items() if h in plan.headers}
        plan.formats = dict(entry.get("formats") or {})
        plan.confidence = {m: 1.0 for m in plan.columns}
        who = f"{entry.get('saved_by', '?')} on {entry.get('saved_on', '?')}"
        plan.reasons = {m: f"remembered for {scope} by {who}" for m in plan.columns}
        plan.source = f"remembered for {scope} ({who})"
        return plan
    return s.plan
