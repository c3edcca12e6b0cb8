import shutil

from assessment.evidence import synth

from conftest import DEMO


def test_committed_demo_data_is_what_the_generator_writes(tmp_path):
    for case in sorted(p for p in DEMO.iterdir() if p.is_dir()):
        target = tmp_path / case.name
        target.mkdir()
        shutil.copy(case / "scenario.yaml", target / "scenario.yaml")
        synth.generate(target / "scenario.yaml")
        for name in ("audit.csv", "shifts.csv", "cad.csv", "truth.json"):
            assert (target / name).read_bytes() == (case / name).read_bytes(), f"{case.name}/{name}"


def test_generated_people_are_synthetic():
    import csv
    allowed = {f"{last.upper()}, {first.upper()}" for first in synth.FIRST for last in synth.LAST}
    for case in sorted(p for p in DEMO.iterdir() if p.is_dir()):
        subjects = {line.split('"')[1] for line in (case / "scenario.yaml").read_text().splitlines()
                    if "log_name" in line}
        with open(case / "audit.csv", newline="") as fh:
            names = {row["Name"] for row in csv.DictReader(fh)}
        assert subjects <= names and names <= allowed | subjects
