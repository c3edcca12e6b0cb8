"""The web server the firm runs (`clets-assess app`): the Streamlit app of `streamlit_app.py`
behind `webguard.Guard`, which hands out downloads and images only to a signed-in browser's
session and adds the security headers. Start it with `streamlit run assessment/app/webapp.py` (the
command does), not `streamlit run streamlit_app.py`, which would serve without the guard.

Before it serves anyone, the server runs the start-up (memo/startup.py: the database's checks among
it) and checks that Streamlit's XSRF protection is on (the guard knows a browser by its XSRF
cookie); if either fails it says why on its own output and does not start."""
import contextlib
import sys

import streamlit as st
from starlette.middleware import Middleware
from streamlit import config

from assessment.app.webguard import Guard
from assessment.core import settings
from assessment.core.errors import AssessmentError
from assessment.memo import startup


@contextlib.asynccontextmanager
async def lifespan(_app):
    try:
        if not config.get_option("server.enableXsrfProtection"):
            raise AssessmentError([])
        startup.run()
    except AssessmentError as exc:
        why = "; ".join(str(p) for p in exc.problems) or "server.enableXsrfProtection is off (.streamlit/config.toml)"
        print(f"clets-defense: not starting: {why}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    yield


app = st.App(str(settings.REPO / "streamlit_app.py"), middleware=[Middleware(Guard)],
             lifespan=lifespan)
