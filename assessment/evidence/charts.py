"""Charts of the client's queries (Altair): a timeline by day and time of day with subject
queries marked and off-duty time shaded, and an hour-by-weekday heatmap. The same charts go
into the app and, as PNG images, into the memo.

Every chart carries its rows as inline values (`_inline`), never as a DataFrame: Altair passes a
DataFrame through its data transformer, whose default refuses more than 5,000 rows, and that
transformer is global to the process (Streamlit swaps it while it draws a chart, and the memo's
PNGs are drawn on background threads), so it is left alone rather than widened."""
from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import altair as alt
import pandas as pd

from assessment.evidence.model import EvidenceResult

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MAX_POINTS = 20_000


def _inline(df: pd.DataFrame) -> dict:
    """The frame's rows as inline chart data, {"values": [...]} (dates as ISO text, as Altair's
    own conversion writes them), which no data transformer sees: any number of rows, whatever
    transformer is active on another thread. A plain dict, not alt.InlineData: that one checks
    every row against the schema when made (4 s for 20,000 rows)."""
    return {"values": alt.utils.data.to_values(df)["values"]}


def events_frame(events: list[dict]) -> pd.DataFrame:
    rows = []
    for e in events:
        if not e.get("time"):
            continue
        t = dt.datetime.fromisoformat(e["time"])
        rows.append({"time": t, "day": t.date().isoformat(), "hour": t.hour + t.minute / 60 + t.second / 3600,
                     "weekday": WEEKDAYS[t.weekday()], "hour_of_day": t.hour,
                     "kind": "subject query" if e.get("subject") else "other query",
                     "subject": e.get("subject") or "", "terminal": e.get("terminal") or "",
                     "where": f"{e['file']} row {e['row']}", "findings": ", ".join(e.get("findings", []))})
    return pd.DataFrame(rows, columns=["time", "day", "hour", "weekday", "hour_of_day", "kind", "subject",
                                       "terminal", "where", "findings"])


def off_duty_bands(shifts: list[dict], first: dt.date, last: dt.date) -> pd.DataFrame:
    """For each day from first to last, the hours (0-24) not covered by a shift."""
    on: dict[dt.date, list[tuple[float, float]]] = {}
    for s in shifts:
        if "start" not in s:
            continue
        a, b = dt.datetime.fromisoformat(s["start"]), dt.datetime.fromisoformat(s["end"])
        while a < b:  # split at midnight (overnight shifts)
            end_of_day = dt.datetime.combine(a.date() + dt.timedelta(days=1), dt.time())
            seg_end = min(b, end_of_day)
            on.setdefault(a.date(), []).append((a.hour + a.minute / 60, 24.0 if seg_end == end_of_day else
                                                seg_end.hour + seg_end.minute / 60))
            a = seg_end
    leave = {dt.date.fromisoformat(s["leave"]) for s in shifts if "leave" in s}
    rows = []
    day = first
    while day <= last:
        t = 0.0
        for start, stop in sorted(on.get(day, [])):
            if start > t:
                rows.append({"day": day.isoformat(), "day_end": (day + dt.timedelta(days=1)).isoformat(), "from": t,
                             "to": start, "what": "leave" if day in leave else "off duty"})
            t = max(t, stop)
        if t < 24:
            rows.append({"day": day.isoformat(), "day_end": (day + dt.timedelta(days=1)).isoformat(), "from": t,
                         "to": 24.0, "what": "leave" if day in leave else "off duty"})
        day += dt.timedelta(days=1)
    return pd.DataFrame(rows, columns=["day", "day_end", "from", "to", "what"])


def timeline(events: list[dict], shifts: list[dict], title: str = "The client's queries",
             for_print: bool = False) -> alt.Chart | None:
    """Date against time of day. `for_print` keeps only the plotted columns and no tooltips: the
    spec a PNG is drawn from is a tenth of the size, and drawing it twice as fast."""
    df = events_frame(events)
    if df.empty:
        return None
    if len(df) > MAX_POINTS:  # keep every subject query, sample the rest evenly
        subj, other = df[df.kind == "subject query"], df[df.kind != "subject query"]
        df = pd.concat([subj, other.iloc[:: max(1, len(other) // max(1, MAX_POINTS - len(subj)))]])
    first, last = df.time.min().date(), df.time.max().date()
    if for_print:
        df = df[["day", "hour", "kind"]]
    x = alt.X("day:T", title="Date")
    points = alt.Chart(_inline(df.iloc[:0])).mark_point(filled=True).encode(
        x=x, y=alt.Y("hour:Q", title="Time of day (hour)", scale=alt.Scale(domain=[0, 24]), axis=alt.Axis(tickCount=12)),
        color=alt.Color("kind:N", title=None, scale=alt.Scale(domain=["subject query", "other query"],
                                                              range=["#C00000", "#7F7F7F"])),
        shape=alt.Shape("kind:N", title=None, scale=alt.Scale(domain=["subject query", "other query"],
                                                              range=["diamond", "circle"])),
        size=alt.condition(alt.datum.kind == "subject query", alt.value(90), alt.value(18)),
        **({} if for_print else {"tooltip": ["time:T", "subject:N", "terminal:N", "where:N", "findings:N"]}))
    layers, frames = [], []
    if shifts and (last - first).days <= 800:
        bands = off_duty_bands(shifts, first, last)
        if not bands.empty:
            frames.append(bands)
            layers.append(alt.Chart(_inline(bands.iloc[:0])).mark_rect(opacity=0.5).encode(
                x=x, x2="day_end:T", y="from:Q", y2="to:Q",
                color=alt.Color("what:N", title="Shaded", scale=alt.Scale(domain=["off duty", "leave"],
                                                                          range=["#BFBFBF", "#F4B183"]))))
    chart = alt.layer(*layers, points).resolve_scale(color="independent", shape="independent")
    chart = chart.properties(title=title, width=640, height=300)
    # the rows go in last: combining layers deep-copies every row of every layer (3 s for 20,000 points)
    for layer, frame in zip(chart.layer, [*frames, df], strict=True):
        layer.data = _inline(frame)
    return chart


def heatmap(events: list[dict], only_subjects: bool = False) -> alt.Chart | None:
    df = events_frame(events)
    if only_subjects:
        df = df[df.kind == "subject query"]
    if df.empty:
        return None
    counts = df.groupby(["weekday", "hour_of_day"]).size().reset_index(name="queries")
    what = "subject queries" if only_subjects else "client queries"
    base = alt.Chart(_inline(counts)).encode(
        x=alt.X("hour_of_day:O", title="Hour of day", scale=alt.Scale(domain=list(range(24)))),
        y=alt.Y("weekday:O", title=None, sort=WEEKDAYS, scale=alt.Scale(domain=WEEKDAYS)))
    rect = base.mark_rect().encode(color=alt.Color("queries:Q", title=what, scale=alt.Scale(scheme="orangered")),
                                   tooltip=["weekday:O", "hour_of_day:O", "queries:Q"])
    text = base.mark_text(fontSize=9).encode(text="queries:Q")
    return (rect + text).properties(title=f"When the {what} ran (hour by weekday)", width=640, height=200)


def png(chart: alt.Chart, scale: float = 2.0) -> bytes:
    """PNG bytes (vl-convert renders locally; nothing leaves the machine)."""
    import vl_convert
    return vl_convert.vegalite_to_png(chart.to_dict(), scale=scale)


def memo_charts(ev: EvidenceResult | None) -> dict[str, bytes]:
    """The figures for the memo from an evidence result (empty without events)."""
    out: dict[str, bytes] = {}
    if ev is None or not ev.events:
        return out
    t = timeline(ev.events, ev.shifts, title="", for_print=True)
    h = heatmap(ev.events)
    jobs = [(title, c) for title, c in (
        ("The client's queries by date and time of day; subject queries in red, off-duty time shaded.", t),
        ("The client's queries by hour of day and weekday.", h.properties(title="") if h is not None else None))
        if c is not None]
    with ThreadPoolExecutor(max_workers=2) as pool:         # vl-convert draws outside the GIL
        images = list(pool.map(lambda job: png(job[1]), jobs))
    for (title, _), image in zip(jobs, images, strict=True):
        out[title] = image
    return out
