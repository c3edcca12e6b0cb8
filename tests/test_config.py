import tomllib

from conftest import ROOT


def test_streamlit_config_keeps_data_local():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["server"]["address"] == "127.0.0.1"
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["server"]["maxUploadSize"] == 25
    assert cfg["client"]["showErrorDetails"] == "none"
    assert cfg["client"]["toolbarMode"] == "viewer"
    assert cfg["client"]["disableDataExport"] is True       # tables' own CSV download and copy: unlogged, unescaped
    assert cfg["server"]["headless"] is True


def test_streamlit_is_pinned_at_a_version_without_known_advisories():
    import re
    from importlib.metadata import version
    pinned = re.search(r'"streamlit==([0-9.]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    assert version("streamlit") == pinned
    assert tuple(int(x) for x in pinned.split(".")) >= (1, 54)        # CVE-2026-33682 is fixed in 1.54


def test_no_raw_html_and_no_shared_caches_in_the_app():
    """Case text is shown only through escaping widgets, and matter data never sits in a cache
    that every user shares (Streamlit's data cache) or on disk (persist)."""
    for path in list((ROOT / "assessment").rglob("*.py")) + [ROOT / "streamlit_app.py"]:
        code = path.read_text()
        for banned in ("unsafe_allow_html", "st.html(", "components.html", "streamlit.components", "cache_data",
                       "persist="):
            assert banned not in code, f"{path.name} uses {banned}"


def test_readme_gives_exactly_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Set up", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    assert [line.split()[0:2] for line in block.strip().splitlines()] == [["./dev", "app"], ["./dev", "test"]]
    assert "./dev test" in (ROOT / ".ci" / "run").read_text()
