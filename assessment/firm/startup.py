"""What runs once per server process before anyone is served (the web server's start, or the
first page run where the app is started some other way): umask 077 and the data folder closed to
other users, the database's start-up checks (db.startup_checks), files an earlier version kept in
the data folder moved into the database, the temporary folders of processes that no longer run
swept, and a sweeper for folders left behind by closed browser tabs."""
from __future__ import annotations

import threading

from assessment.firm import datadir, db, tmpfiles
from assessment.memo import legacy

_lock = threading.Lock()
_done: dict = {}


def run() -> dict:
    """Run the start-up once in this process; returns what it did. Raises AssessmentError when a
    check fails (the app must not serve then)."""
    with _lock:
        if _done:
            return _done
        datadir.harden()
        db.startup_checks()
        moved = legacy.import_data_folder()
        swept = tmpfiles.sweep()
        threading.Thread(target=_sweeper, name="clets-tmp-sweeper", daemon=True).start()
        _done.update(moved=moved, swept=swept)
        return _done


def _sweeper() -> None:
    while True:
        threading.Event().wait(300)
        try:
            tmpfiles.sweep()
        except OSError:
            pass
