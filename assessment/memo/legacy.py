"""Files an earlier version of the app kept in the data folder, moved into the database once.

Before version 0002 of the schema, generated memos lived in `memos/<matter id with punctuation
turned into _>/` and memo-template versions in `templates/`, unencrypted. At start each record
is read (a template version checked against its recorded SHA-256) and stored in the database,
encrypted, in one transaction with a log row saying how many. When every record of a folder was
imported, the folder, with its unencrypted copies, is removed; otherwise it is renamed
`<name>.not-imported-<UTC time>` with everything still in it, and the log says how many records
were left (no such matter, a file missing). A record that cannot be read never stops the app."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from assessment.firm import access_log, db
from assessment.firm.datadir import data_dir
from assessment.memo import archive, templates


def import_data_folder(root: Path | None = None) -> dict[str, int]:
    root = Path(root or data_dir())
    done: dict[str, int] = {}
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    for name, importer in (("templates", templates.import_files), ("memos", archive.import_files)):
        folder = root / name
        if not folder.is_dir():
            continue
        with db.session() as s:
            n, left = importer(s, folder)
            access_log.record(s, actor="app", event="import", object_type=name, object_id="",
                              reason=f"{n} moved from the data folder into the database"
                                     + (f"; {len(left)} left in {name}.not-imported-{stamp}" if left else ""),
                              place="start", source="app start")
            if left:              # in the transaction: a failed commit imports again at the next start
                folder.rename(root / f"{name}.not-imported-{stamp}")
        if not left:
            shutil.rmtree(folder)           # every record is in the database, encrypted: no plain copy stays
        done[name] = n
    return done
