"""Synthetic CLETS evidence: a small, deterministic generator of audit logs, shift schedules and
CAD incidents from a scenario (demo/<case>/scenario.yaml). Only invented people.

The generator also writes truth.json, computed from its own construction (which queries it
planted, which of them fall outside the shifts it wrote), so the analysis is checked against
an independent oracle rather than against itself.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from pathlib import Path

from assessment.core import settings, yamlio

FIRST = ["Ana", "Ben", "Carla", "Dev", "Elena", "Farid", "Gina", "Hugo", "Iris", "Jon", "Kara", "Luis", "Mina",
         "Noel", "Olga", "Pavel", "Quinn", "Rosa", "Saul", "Tara", "Umar", "Vera", "Wes", "Xena", "Yuri", "Zoe"]
LAST = ["Abbott", "Bishop", "Castro", "Dunn", "Ellis", "Flores", "Grant", "Hayes", "Ibarra", "Jensen", "Kim", "Lowe",
        "Mendez", "Nash", "Ortega", "Patel", "Quade", "Reyes", "Soto", "Tanaka", "Underhill", "Vance", "Wu", "Young"]
HEADER = ["Timestamp", "Operator ID", "Terminal", "ORI", "Message Key", "Name", "DOB", "Plate", "DL Number", "Case Number"]


def _shifts(spec: dict, start: dt.date, end: dt.date, leave: set[dt.date]) -> list[tuple[dt.datetime, dt.datetime]]:
    out = []
    h, m = map(int, spec["start"].split(":"))
    day = start
    while day <= end:
        if day.weekday() in spec["days"] and day not in leave:
            s = dt.datetime.combine(day, dt.time(h, m))
            out.append((s, s + dt.timedelta(hours=spec["hours"])))
        day += dt.timedelta(days=1)
    return out


def _plate(rng: random.Random) -> str:
    return f"{rng.randint(1, 9)}{''.join(rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ') for _ in range(3))}{rng.randint(100, 999)}"


def generate(scenario_path: Path) -> dict:
    """Write audit.csv, shifts.csv, cad.csv and truth.json beside the scenario; return the truth."""
    folder = scenario_path.parent
    sc = yamlio.to_plain(yamlio.parse(scenario_path.read_text(encoding="utf-8"), str(scenario_path)))
    rng = random.Random(sc["seed"])
    start, end = dt.date.fromisoformat(sc["start"]), dt.date.fromisoformat(sc["end"])
    people = [sc["client"]] + sc.get("coworkers", [])
    rows, cad = [], []
    case_no = 0
    subject_names = {s["log_name"] for s in sc["subjects"]}
    client_shifts = []
    for idx, person in enumerate(people):
        leave = {dt.date.fromisoformat(d) for d in person.get("leave", [])}
        shifts = _shifts(person["shift"], start, end, leave)
        if idx == 0:
            client_shifts = shifts
        for s, e in shifts:
            for _ in range(rng.randint(*person["per_shift"])):
                at = s + dt.timedelta(minutes=rng.randint(5, int((e - s).total_seconds() // 60) - 5))
                name = f"{rng.choice(LAST).upper()}, {rng.choice(FIRST).upper()}"
                if name in subject_names:
                    continue
                mke = rng.choice(["QW", "QV", "DQ"])
                case_no += 1
                number = f"{str(at.year)[2:]}-{sc['case_prefix']}{case_no:05d}"
                dob = dt.date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28))
                rows.append([at, person["operator_id"], rng.choice(person["terminals"]), sc["ori"], mke, name,
                             dob.isoformat(), _plate(rng) if mke == "QV" else "",
                             f"D{rng.randint(1000000, 9999999)}" if mke == "DQ" else "", number])
                cad.append([number, (at - dt.timedelta(minutes=rng.randint(1, 40))).strftime("%Y-%m-%d %H:%M"),
                            person.get("unit", ""), name, rows[-1][7]])
    planted = []
    subjects = {s["ref"]: s for s in sc["subjects"]}
    for p in sc["planted"]:
        s = subjects[p["subject"]]
        at = dt.datetime.fromisoformat(p["at"])
        for k in range(p.get("repeat", 1)):
            when = at + dt.timedelta(days=k * p.get("every_days", 0))
            mke = p["mke"]
            row = [when, p.get("operator_id", sc["client"]["operator_id"]), p["terminal"], sc["ori"], mke, s["log_name"],
                   s["dob"], s.get("plate", "") if mke == "QV" else "",
                   s.get("license_number", "") if mke == "DQ" else "", ""]
            rows.append(row)
            planted.append((row, p["subject"]))
    rows.sort(key=lambda r: (r[0], r[1]))
    client = sc["client"]
    client_rows = [r for r in rows if r[1] == client["operator_id"]]
    mine = [(r, ref) for r, ref in planted if r[1] == client["operator_id"]]
    training = dt.datetime.fromisoformat(client["training"]) if client.get("training") else None
    client_leave = sorted(dt.date.fromisoformat(d) for d in client.get("leave", []))
    truth = {
        "audit_file": "audit.csv",
        "rows_total": len(rows),
        "client_queries": len(client_rows),
        "subject_queries": {ref: sum(1 for _, r in mine if r == ref) for ref in subjects},
        "subject_queries_off_duty": sum(1 for r, _ in mine if not any(s <= r[0] <= e for s, e in client_shifts)),
        "subject_queries_without_case_number": sum(1 for r, _ in mine if not r[9]),
        "client_queries_on_unassigned_terminals": sum(1 for r in client_rows if r[2] not in client["terminals"]),
        "client_queries_before_training": (sum(1 for r in client_rows if r[0] < training) if training
                                           else len(client_rows)),
        "subject_query_rows": sorted(rows.index(r) + 1 for r, _ in mine),
        "client_queries_on_leave_days": sum(1 for r in client_rows if r[0].date() in client_leave
                                            and not any(s <= r[0] <= e for s, e in client_shifts)),
    }

    def write(name: str, header: list[str], body: list[list]) -> None:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        for r in body:
            w.writerow([x.strftime("%Y-%m-%d %H:%M:%S") if isinstance(x, dt.datetime) else x for x in r])
        yamlio.write_atomic(folder / name, buf.getvalue())

    write("audit.csv", HEADER, rows)
    schedule = [[s.date().isoformat(), s.strftime("%Y-%m-%d %H:%M"), e.strftime("%Y-%m-%d %H:%M"), client.get("unit", ""),
                 "REGULAR"] for s, e in client_shifts]
    schedule += [[d.isoformat(), "", "", client.get("unit", ""), "VACATION"] for d in client_leave]
    write("shifts.csv", ["date", "start", "end", "assignment", "status"], sorted(schedule))
    write("cad.csv", ["incident_number", "received", "unit", "subject_name", "plate"], sorted(cad))
    yamlio.write_atomic(folder / "truth.json", json.dumps(truth, indent=2) + "\n")
    return truth


def demo_dir() -> Path:
    return settings.REPO / "demo"


def generate_all(root: Path | None = None) -> list[str]:
    root = Path(root or demo_dir())
    names = []
    for scenario in sorted(root.glob("*/scenario.yaml")):
        generate(scenario)
        names.append(scenario.parent.name)
    return names
