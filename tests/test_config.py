import tomllib

from conftest import ROOT


def test_streamlit_config_keeps_data_local():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["server"]["address"] == "127.0.0.1"
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["server"]["maxUploadSize"] == 25
    assert cfg["client"]["showErrorDetails"] == "none"


def test_no_raw_html_in_the_app():
    for path in list((ROOT / "assessment").rglob("*.py")) + [ROOT / "streamlit_app.py"]:
        text = path.read_text()
        for banned in ("unsafe_allow_html", "st.html(", "components.html"):
            assert banned not in text, f"{path.name} uses {banned}"


def test_readme_gives_exactly_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Set up", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    assert [line.split()[0:2] for line in block.strip().splitlines()] == [["./dev", "app"], ["./dev", "test"]]
    assert "./dev test" in (ROOT / ".ci" / "run").read_text()
