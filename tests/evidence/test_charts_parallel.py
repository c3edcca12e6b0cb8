"""Issue 19, item 4: the memo's chart PNGs are never empty. They are drawn on background threads
(app/state.py `_draw_later`; `charts.memo_charts` draws its two figures in parallel) while
Streamlit, on the page's thread, swaps Altair's process-global data transformer and theme to
convert a chart of the page (streamlit/elements/vega_charts.py). Every figure drawn meanwhile must
keep its marks and the off-duty shading. And the heatmap labels all seven weekdays."""
from __future__ import annotations

import io
import threading
from contextlib import nullcontext

import altair as alt
import pytest

from assessment.core import casefile
from assessment.evidence import analyse as evidence
from assessment.evidence import charts

from conftest import DEMO

Image = pytest.importorskip("PIL.Image")

TIMELINE = "The client's queries by date and time of day; subject queries in red, off-duty time shaded."
HEATMAP = "The client's queries by hour of day and weekday."
ROUNDS = 8           # rounds of two memos drawn at once: 16 memos, 32 figures


@pytest.fixture(scope="module")
def ev():
    from assessment.law import kb as kbmod
    folder = DEMO / "off-duty-lookups"
    return evidence.analyse(casefile.load(folder / "case.yaml", kbmod.load()), folder)


def streamlit_converts(chart) -> dict:
    """What st.altair_chart does with an Altair chart (Streamlit 1.67,
    vega_charts._convert_altair_to_vega_lite_spec): under its own lock, which the memo's threads
    do not take, the "none" theme and a data transformer that takes a DataFrame's rows out of the
    spec are enabled, process-wide, while the chart is converted. Streamlit's own function when
    it is there, else the same steps."""
    from streamlit.elements import vega_charts
    if hasattr(vega_charts, "_convert_altair_to_vega_lite_spec"):
        return vega_charts._convert_altair_to_vega_lite_spec(chart)
    datasets: dict = {}

    def to_dataset(data):
        datasets[str(id(data))] = data
        return {"name": str(id(data))}
    alt.data_transformers.register("to_arrow_dataset", to_dataset)
    with vega_charts._altair_globals_lock if hasattr(vega_charts, "_altair_globals_lock") else nullcontext():
        with alt.theme.enable("none") if alt.theme.active == "default" else nullcontext():
            with alt.data_transformers.enable("to_arrow_dataset"):
                return chart.to_dict()


def pixels(image: bytes) -> dict[str, int]:
    """Pixels of each kind of mark: the off-duty shading (#BFBFBF at half opacity on white), the red
    of subject queries, and the heatmap's orange-red cells."""
    got = {"shading": 0, "red": 0, "cells": 0}
    for n, (r, g, b) in Image.open(io.BytesIO(image)).convert("RGB").getcolors(1 << 24):
        if max(abs(r - 223), abs(g - 223), abs(b - 223)) <= 1:
            got["shading"] += n
        if r > 150 and g < 120 and b < 120:
            got["red"] += n
        if r > 200 and r - b > 60:
            got["cells"] += n
    return got


def has_marks(figures: dict[str, bytes], reference: dict[str, dict[str, int]]) -> list[str]:
    """What a memo's figures lack against a reference drawn alone (at least half of each kind)."""
    lacking = [title for title in reference if title not in figures]
    for title, want in reference.items():
        if title in figures:
            got = pixels(figures[title])
            lacking += [f"{title[:30]}: {kind} {got[kind]} of {n}" for kind, n in want.items()
                        if n and got[kind] < n / 2]
    return lacking


def test_memo_figures_drawn_while_streamlit_converts_charts_keep_marks_and_shading(ev):
    assert any("start" in s for s in ev.shifts)
    alone = charts.memo_charts(ev)
    reference = {TIMELINE: {k: v for k, v in pixels(alone[TIMELINE]).items() if k in ("shading", "red")},
                 HEATMAP: {"cells": pixels(alone[HEATMAP])["cells"]}}
    # drawn alone, the figures have their marks: shading over most of the plot, red subject
    # queries (the demo case has five), heatmap cells
    assert reference[TIMELINE]["shading"] > 200_000 and reference[TIMELINE]["red"] > 500
    assert reference[HEATMAP]["cells"] > 50_000

    stop, errors = threading.Event(), []

    def page_runs():            # the Evidence page drawing its timeline and heatmap, again and again
        try:
            while not stop.is_set():
                streamlit_converts(charts.timeline(ev.events, ev.shifts))
                streamlit_converts(charts.heatmap(ev.events))
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    memos: list[dict[str, bytes] | Exception] = []

    def memo():
        try:
            memos.append(charts.memo_charts(ev))
        except Exception as exc:  # noqa: BLE001 - a refused figure is a failure here too
            memos.append(exc)

    pages = [threading.Thread(target=page_runs, daemon=True) for _ in range(2)]
    for t in pages:
        t.start()
    try:
        for _ in range(ROUNDS):
            drawing = [threading.Thread(target=memo) for _ in range(2)]
            for t in drawing:
                t.start()
            for t in drawing:
                t.join()
    finally:
        stop.set()
        for t in pages:
            t.join()
    assert not errors
    assert (alt.data_transformers.active, alt.theme.active) == ("default", "default")
    bad = {i: (repr(m) if isinstance(m, Exception) else has_marks(m, reference)) for i, m in enumerate(memos)}
    bad = {i: why for i, why in bad.items() if why}
    assert not bad, f"{len(bad)} of {len(memos)} memos had a figure without its marks: {bad}"


def test_the_spec_drawn_ignores_the_theme_streamlit_enables(ev):
    chart = charts.timeline(ev.events, ev.shifts, title="", for_print=True)
    plain = charts.print_spec(chart)
    with alt.theme.enable("none"):
        assert charts.print_spec(chart) == plain
    assert plain["config"] == charts.PRINT_CONFIG
    assert charts.spec_rows(plain) == charts.layer_rows(chart) and all(charts.spec_rows(plain))


def test_a_figure_that_loses_its_rows_is_drawn_again_then_refused(ev, monkeypatch):
    chart = charts.timeline(ev.events, ev.shifts, title="", for_print=True)
    real, calls = charts.print_spec, []

    def losing(times):
        def spec(c):
            calls.append(1)
            s = real(c)
            if len(calls) <= times:           # the shading layer's rows gone, as in the race
                s["layer"][0]["data"] = {"name": "data-elsewhere"}
            return s
        return spec
    monkeypatch.setattr(charts, "print_spec", losing(charts.DRAW_ATTEMPTS - 1))
    image = charts.png(chart)
    assert len(calls) == charts.DRAW_ATTEMPTS and pixels(image)["shading"] > 200_000
    calls.clear()
    monkeypatch.setattr(charts, "print_spec", losing(charts.DRAW_ATTEMPTS))
    with pytest.raises(charts.ChartError, match="lost rows"):
        charts.png(chart)
    assert len(calls) == charts.DRAW_ATTEMPTS


def test_a_timeline_with_shifts_has_its_shading_and_no_layer_is_empty(ev):
    chart = charts.timeline(ev.events, ev.shifts, title="", for_print=True)
    shading, points = charts.layer_rows(chart)
    assert shading > 0 and points == len([e for e in ev.events if e.get("time")])
    assert chart.layer[0].mark.type == "rect"
    empty = alt.Chart({"values": []}).mark_point().encode(x="x:Q")
    with pytest.raises(charts.ChartError, match="without rows"):
        charts.png(empty)


def _visible_labels(spec: dict) -> list[list[str]]:
    import vl_convert

    def walk(node, out):
        if isinstance(node, dict):
            if node.get("role") == "axis-label":
                out.append([i["text"] for i in node["items"] if i.get("opacity", 1) != 0])
            for v in node.values():
                walk(v, out)
        elif isinstance(node, list):
            for v in node:
                walk(v, out)
        return out
    return walk(vl_convert.vegalite_to_scenegraph(spec), [])


def test_heatmap_labels_all_seven_weekdays_in_the_app_and_the_memo(ev):
    """Streamlit's theme (its frontend's chart config) thins overlapping axis labels with a wide
    label separation; the heatmap showed only Mon, Wed, Fri and Sun. The axis lists every weekday
    and keeps them all."""
    spec = charts.heatmap(ev.events).to_dict()
    axis = spec["layer"][0]["encoding"]["y"]["axis"]
    assert axis["values"] == charts.WEEKDAYS and axis["labelOverlap"] is False
    # as Streamlit's page draws it: fitted to its height, with the theme's label settings
    app = dict(spec, autosize={"type": "fit", "contains": "padding"},
               config={"axis": {"labelFontSize": 14, "titleFontSize": 14, "labelPadding": 16, "titlePadding": 24,
                                "labelSeparation": 4, "labelOverlap": True, "ticks": False}})
    assert charts.WEEKDAYS in _visible_labels(app)
    assert charts.WEEKDAYS in _visible_labels(charts.print_spec(charts.heatmap(ev.events).properties(title="")))
