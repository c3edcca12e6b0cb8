"""The server's start-up, whole, once per process, for whatever starts the app (the web server
before it serves anyone, or the first page run where the app is started some other way): the
firm's start-up (firm/startup.py: data folder, database checks, temporary folders), then the
memos and template versions an earlier version kept in the data folder moved into the database
(legacy.py). It sits on the memo floor because the import writes memos and templates; the app
and the command line both reach it from above."""
from __future__ import annotations

import threading

from assessment.firm import startup as firm_startup
from assessment.memo import legacy

_lock = threading.Lock()
_done: dict = {}


def run() -> dict:
    """Run the start-up once in this process; returns what it did (`swept`, `moved`). Raises
    AssessmentError when a check fails (the app must not serve then); the next call tries again."""
    with _lock:
        if _done:
            return _done
        done = firm_startup.run()
        moved = legacy.import_data_folder()
        _done.update(done, moved=moved)
        return _done
