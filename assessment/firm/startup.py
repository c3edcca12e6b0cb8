"""The firm's part of what runs once per server process before anyone is served: umask 077 and
the data folder closed to other users, the database's start-up checks (db.startup_checks), the
temporary folders of processes that no longer run swept, and a sweeper for folders left behind by
closed browser tabs. The whole start-up, with the import of files an earlier version kept in the
data folder, is memo/startup.py's, which runs this first."""
from __future__ import annotations

import threading

from assessment.core import settings
from assessment.firm import datadir, db, tmpfiles

_lock = threading.Lock()
_done: dict = {}


def run() -> dict:
    """Run the firm's start-up once in this process; returns what it did. Raises AssessmentError
    when a check fails (the app must not serve then)."""
    with _lock:
        if _done:
            return _done
        settings.check()                # a CLETS_* variable of the wrong form stops the start (ENV001)
        datadir.harden()
        db.startup_checks()
        swept = tmpfiles.sweep()
        threading.Thread(target=_sweeper, name="clets-tmp-sweeper", daemon=True).start()
        _done.update(swept=swept)
        return _done


def _sweeper() -> None:
    while True:
        threading.Event().wait(300)
        try:
            tmpfiles.sweep()
        except OSError:
            pass
