"""`python -m assessment.cli`: the same command line as `clets-assess`."""
from assessment.cli.main import app

app()
