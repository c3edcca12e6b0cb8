"""Charts of the client's queries (Altair): a timeline by day and time of day with subject
queries marked and off-duty time shaded, and an hour-by-weekday heatmap. The same charts go
into the app and, as PNG images, into the memo.

Every chart carries its rows as inline values (`_inline`), never as a DataFrame: Altair passes a
DataFrame through its data transformer, whose default refuses more than 5,000 rows, and that
transformer is global to the process (Streamlit swaps it while it draws a chart, and the memo's
PNGs are drawn on background threads), so it is left alone rather than widened.

The memo's PNGs are drawn from a spec that depends on no other process-global setting either
(`print_spec`: the theme's config, which Streamlit also swaps, is replaced by a fixed one), and the
spec is checked before it is drawn (`png`): every layer carries the rows it was built with,
and the timeline has its off-duty shading whenever the shifts leave hours uncovered. A figure that
fails the check is built again, and after `DRAW_ATTEMPTS` refused (`ChartError`): a memo has no
figure rather than an empty one."""
from __future__ import annotations

import copy
import datetime as dt
import struct
from concurrent.futures import ThreadPoolExecutor

import altair as alt
import pandas as pd

from assessment.evidence.model import EvidenceResult

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MAX_POINTS = 20_000
Figure = alt.Chart | alt.LayerChart
DRAW_ATTEMPTS = 3
# the config Altair's default theme gives; a PNG's spec takes this whatever theme is active on another thread
PRINT_CONFIG = {"view": {"continuousWidth": 300, "continuousHeight": 300}}


class ChartError(RuntimeError):
    """A memo figure that could not be drawn with all its marks."""


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


def _frames(events: list[dict], shifts: list[dict], for_print: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The timeline's points (sampled down to MAX_POINTS) and off-duty bands (empty without shifts
    or over more than 800 days)."""
    df = events_frame(events)
    if df.empty:
        return df, off_duty_bands([], dt.date.min, dt.date.min)
    if len(df) > MAX_POINTS:  # keep every subject query, sample the rest evenly
        subj, other = df[df.kind == "subject query"], df[df.kind != "subject query"]
        df = pd.concat([subj, other.iloc[:: max(1, len(other) // max(1, MAX_POINTS - len(subj)))]])
    first, last = df.time.min().date(), df.time.max().date()
    bands = off_duty_bands(shifts if (last - first).days <= 800 else [], first, last)
    return (df[["day", "hour", "kind"]] if for_print else df), bands


def timeline(events: list[dict], shifts: list[dict], title: str = "The client's queries",
             for_print: bool = False) -> alt.LayerChart | None:
    """Date against time of day. `for_print` keeps only the plotted columns and no tooltips: the
    spec a PNG is drawn from is a tenth of the size, and drawing it twice as fast."""
    df, bands = _frames(events, shifts, for_print)
    return None if df.empty else _timeline(df, bands, title, for_print)


def _timeline(df: pd.DataFrame, bands: pd.DataFrame, title: str, for_print: bool) -> alt.LayerChart:
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
        # every weekday labelled: Streamlit's theme thins overlapping labels, and kept only Mon, Wed, Fri, Sun
        y=alt.Y("weekday:O", title=None, sort=WEEKDAYS, scale=alt.Scale(domain=WEEKDAYS),
                axis=alt.Axis(values=WEEKDAYS, labelOverlap=False)))
    rect = base.mark_rect().encode(color=alt.Color("queries:Q", title=what, scale=alt.Scale(scheme="orangered")),
                                   tooltip=["weekday:O", "hour_of_day:O", "queries:Q"])
    text = base.mark_text(fontSize=9).encode(text="queries:Q")
    return (rect + text).properties(title=f"When the {what} ran (hour by weekday)", width=640, height=200)


def layer_rows(chart: alt.TopLevelMixin) -> list[int]:
    """The rows each layer of the chart (or the chart itself) was given inline; ChartError for data
    that is not inline (a DataFrame goes through Altair's process-global data transformer)."""
    def rows(data) -> int:
        if isinstance(data, dict) and isinstance(data.get("values"), list):
            return len(data["values"])
        raise ChartError(f"a chart for the memo has data that is not inline rows ({type(data).__name__})")
    top = getattr(chart, "data", alt.Undefined)
    layers = chart.layer if isinstance(chart, alt.LayerChart) else [chart]
    return [rows(top if layer.data is alt.Undefined else layer.data) for layer in layers]


def spec_rows(spec: dict) -> list[int | None]:
    """The rows each layer of a Vega-Lite spec draws (inline values, or a named dataset of the spec);
    None where the rows are missing (a dataset name the spec does not hold, a URL)."""
    datasets = spec.get("datasets") or {}

    def rows(data) -> int | None:
        if not isinstance(data, dict):
            return None
        if isinstance(data.get("values"), list):
            return len(data["values"])
        found = datasets.get(data.get("name"))
        return len(found) if isinstance(found, list) else None
    return [rows(layer.get("data", spec.get("data"))) for layer in spec.get("layer", [spec])]


def print_spec(chart: Figure) -> dict:
    """The Vega-Lite spec a PNG is drawn from. It depends on no process-global setting of Altair that
    another thread may change meanwhile: the rows are inline (no data transformer sees them), and
    the config a theme adds (Streamlit enables the "none" theme while it converts a chart) is
    replaced by PRINT_CONFIG with the chart's own config over it."""
    spec = chart.to_dict(validate=True, format="vega-lite")
    own = chart.config.to_dict(validate=False) if getattr(chart, "config", alt.Undefined) is not alt.Undefined else {}
    spec["config"] = alt.utils.update_nested(copy.deepcopy(PRINT_CONFIG), own)
    return spec


def _png_size(image: bytes) -> tuple[int, int]:
    if image[:8] != b"\x89PNG\r\n\x1a\n" or image[12:16] != b"IHDR":
        raise ChartError("vl-convert did not return a PNG")
    return struct.unpack(">II", image[16:24])


def png(chart: Figure, scale: float = 2.0) -> bytes:
    """PNG bytes (vl-convert renders locally; nothing leaves the machine), drawn from `print_spec`
    once every layer of the spec is seen to draw the rows it was built with (`spec_rows`); a spec or
    image that fails is made again, and after DRAW_ATTEMPTS refused with ChartError."""
    import vl_convert
    if isinstance(getattr(chart, "data", None), pd.DataFrame):
        chart = chart.copy(deep=False)   # a DataFrame's rows inline (the transformer is global)
        chart.data = _inline(chart.data)
    want = layer_rows(chart)
    if not all(want):
        raise ChartError(f"a figure has a layer without rows (rows per layer {want})")
    problem = ""
    for _ in range(DRAW_ATTEMPTS):
        spec = print_spec(chart)
        if (got := spec_rows(spec)) != want:
            problem = f"its spec lost rows (rows per layer {got}, built with {want})"
            continue
        image = vl_convert.vegalite_to_png(spec, scale=scale)
        width, height = _png_size(image)
        plot = [v if isinstance(v, int) else 0 for v in (spec.get("width"), spec.get("height"))]
        if width >= plot[0] * scale and height >= plot[1] * scale:
            return image
        problem = f"vl-convert drew {width}x{height} pixels for a {plot[0]}x{plot[1]} plot"
    raise ChartError(f"a figure could not be drawn with its marks ({DRAW_ATTEMPTS} attempts): {problem}")


def memo_charts(ev: EvidenceResult | None) -> dict[str, bytes]:
    """The figures for the memo from an evidence result (empty without events): every figure with
    its marks, and the timeline with its off-duty shading whenever the shifts leave hours uncovered
    (ChartError otherwise)."""
    out: dict[str, bytes] = {}
    if ev is None or not ev.events:
        return out
    df, bands = _frames(ev.events, ev.shifts, for_print=True)
    t = None if df.empty else _timeline(df, bands, title="", for_print=True)
    if t is not None and layer_rows(t) != ([len(bands)] if len(bands) else []) + [len(df)]:
        raise ChartError("the memo's timeline was built without its off-duty shading")
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
