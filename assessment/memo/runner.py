"""The parent's side of the template worker: `run()` renders a memo template in a separate process
under CPU-time and memory limits, and reads the .docx, or a failure, back.

It starts `assessment/memo/sandbox.py` by path in isolated mode (`python -I`: no environment
variables, no user site, not even that folder on the path) with a reduced environment (no database
address, no keys), sends the template's bytes, the memo's context (JSON) and the chart PNGs on
stdin, and reads the result from stdout. The worker file imports nothing of the package, so this
side, not the worker, reads the limits from the settings at each render:

- `CLETS_RENDER_CPU_SECONDS` (default 20): processor seconds one render may use. The wall-clock
  timeout is twice this plus 10 seconds.
- `CLETS_RENDER_MEMORY_MB` (default 512): memory one render may take on top of the worker's
  start-up footprint (a memo with 200 marked events and both charts takes about 30 MB).

A limit that is hit comes back as a `RenderFailure` naming the Jinja tag that was running, when the
worker could see it.
"""
from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from assessment.core import settings
from assessment.memo import sandbox


@dataclass
class RenderFailure(Exception):
    """The worker could not render: `kind` is time, memory, template (an error of the template)
    or crash; `text` and `tags` are the template line that was running, when known."""
    kind: str
    message: str
    text: str = ""
    tags: list[str] = field(default_factory=list)
    error_type: str = ""

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)


def limits() -> tuple[int, int, float]:
    """(CPU seconds, memory MB, wall-clock seconds) from the settings, see the module docstring."""
    cpu = settings.RENDER_CPU_SECONDS.get()
    return cpu, settings.RENDER_MEMORY_MB.get(), 2 * cpu + 10


def _worker_env() -> dict[str, str]:
    """The worker's environment: locale and path only (no database address, no keys)."""
    keep = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "SYSTEMROOT")
    return {k: os.environ[k] for k in keep if k in os.environ}


def run(template: bytes, context: dict, charts: list[tuple[str, bytes]] | None = None) -> bytes:
    """Render in a worker process under the limits; the .docx bytes, or RenderFailure."""
    cpu, memory, wall = limits()
    pictures = [{"title": t, "png": base64.b64encode(p).decode("ascii")} for t, p in charts or []]
    payload = json.dumps({"template": base64.b64encode(template).decode("ascii"), "context": context,
                          "charts": pictures}, default=str).encode("utf-8")
    worker = str(Path(sandbox.__file__).resolve())
    cmd = [sys.executable, "-I", worker, "--cpu", str(cpu), "--memory", str(memory)]
    try:
        proc = subprocess.run(cmd, input=payload, capture_output=True, timeout=wall, check=False, cwd="/",
                              env=_worker_env())
    except subprocess.TimeoutExpired:
        raise RenderFailure("time", f"it was stopped after {wall:g} s of waiting") from None
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        out = None
    if isinstance(out, dict) and "docx" in out:
        return base64.b64decode(out["docx"])
    if isinstance(out, dict) and "failure" in out:
        f = out["failure"]
        raise RenderFailure(f["kind"], f["message"], f.get("text", ""), f.get("tags", []), f.get("type", ""))
    if proc.returncode in (-signal.SIGKILL, -signal.SIGXCPU):
        raise RenderFailure("time", "it was stopped when it used up its processor time")
    last = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"])[-1]
    raise RenderFailure("crash", f"the render process ended without a result (exit status {proc.returncode}: "
                                 f"{last[:300]})")
