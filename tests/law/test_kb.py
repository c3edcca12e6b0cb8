import ast
import importlib
import re
import shutil

import pytest

from assessment.core.errors import AssessmentError
from assessment.law import kb as kbmod
from assessment.law import nlp, validation
from assessment.narrative import rules

from conftest import ROOT, run_cli


def _problems(directory):
    with pytest.raises(AssessmentError) as err:
        kbmod.load(directory)
    return err.value.problems


def test_first_content_is_present(kb):
    assert {s.citation for s in kb.statutes.values()} >= {
        "PC 502", "PC 530.5", "PC 529", "PC 632", "PC 92", "PC 484", "PC 11142", "VC 1808.45"}
    assert [s.id for s in kb.statutes["pc-502"].subdivisions] == [f"(c)({n})" for n in range(1, 15)]
    assert {p.id for p in kb.statutes["pc-502"].provisions} >= {"(h)(1)", "(h)(2)", "(i)"}
    assert sorted(kb.defenses) == sorted(kbmod.DEFENSE_IDS)


def test_pc_502_c7_first_violation_is_an_infraction(kb):
    tiers = kb.resolve("PC 502(c)(7)").subdivision.penalties
    base = next(t for t in tiers if t.base)
    assert base.classification == "infraction" and "$1,000" in base.fine
    assert {t.classification for t in tiers} == {"infraction", "misdemeanor", "wobbler"}


def test_pc_92_records_its_misdescription(kb):
    pc92 = kb.statutes["pc-92"]
    assert "Bribery" in pc92.title
    assert any("obstruction" in m.claim.lower() for m in pc92.misdescriptions)


def test_every_entry_is_sourced_and_dated_when_verified(kb):
    entries = list(kbmod.iter_sourced(kb))
    assert len(entries) > 300
    kinds = {kind for kind, _, _ in entries}
    assert kinds >= {"statute", "element", "penalty", "subdivision", "defense", "authority", "limitation"}
    for _kind, label, e in entries:
        assert e.source.strip(), label
        assert not e.verified or e.verified_on is not None, label


def test_unconfirmed_research_items_are_stored_unverified(kb):
    # legal-research-2 leaves these citations unconfirmed
    childs = kb.authorities["childs-2013"]  # only the Cal.Rptr. cite is confirmed
    assert childs.verified and "Cal.Rptr." in childs.cite and "Cal.App.4th" not in childs.cite
    assert kb.authorities["daugherty-2018"].verified is False
    assert kb.authorities["teran-2025"].verified is False
    assert kb.authorities["chrisman-2007"].holding_verified is False
    assert kb.authorities["van-buren-2021"].verified is True


def test_defense_naming_unknown_statute_is_located(kb_copy):
    path = kb_copy / "defenses" / "authorized-use.yaml"
    path.write_text(path.read_text().replace("applies_to: [pc-502, pc-11142, vc-1808.45]",
                                             "applies_to: [pc-502, pc-99999]"))
    (p,) = _problems(kb_copy)
    assert p.code == "KB003" and p.file.endswith("defenses/authorized-use.yaml")
    assert p.field == "applies_to[1]" and p.line == 4 and "pc-99999" in p.message


def test_schema_break_is_located(kb_copy):
    path = kb_copy / "statutes" / "pc-92.yaml"
    text = path.read_text().replace("classification: felony", "classification: serious")
    path.write_text(text)
    problems = _problems(kb_copy)
    assert problems[0].code == "KB002" and problems[0].file.endswith("pc-92.yaml")
    assert problems[0].field == "penalties[0].classification"
    assert problems[0].line == text.splitlines().index("    classification: serious") + 1


def test_condition_typo_is_located(kb_copy):
    path = kb_copy / "defenses" / "no-harm.yaml"
    path.write_text(path.read_text().replace('"fact:harm_to_subject=no"', '"fact:harm_to_subjct=no"'))
    (p,) = _problems(kb_copy)
    assert p.code == "KB003" and "harm_to_subjct" in p.message and p.line is not None


def test_verified_without_date_is_refused(kb_copy):
    path = kb_copy / "authorities.yaml"
    text = path.read_text().replace("  verified: true\n  verified_on: 2026-11-30\n", "  verified: true\n", 1)
    path.write_text(text)
    (p,) = _problems(kb_copy)
    assert p.code == "KB002" and "verified_on" in p.message


def test_duplicate_id_is_refused(kb_copy):
    shutil.copy(kb_copy / "statutes" / "pc-92.yaml", kb_copy / "statutes" / "pc-92-copy.yaml")
    (p,) = _problems(kb_copy)
    assert p.code == "KB004"


def test_validate_kb_command(kb_copy):
    ok = run_cli("validate-kb")
    statutes = [p for p in (ROOT / "knowledge" / "statutes").glob("*.yaml") if not p.name.endswith(".scenarios.yaml")]
    assert ok.returncode == 0 and f"{len(statutes)} statutes, 10 defenses" in ok.stdout
    (kb_copy / "statutes" / "pc-92.yaml").write_text("id: pc-92\ncode: [unclosed\n")
    bad = run_cli("validate-kb", "--dir", str(kb_copy))
    assert bad.returncode == 1 and "KB001" in bad.stderr and "pc-92.yaml:" in bad.stderr


def test_every_case_named_in_the_knowledge_base_is_an_authority_entry(kb):
    import re
    pattern = re.compile(r"\b([A-Z][\w.&']+) v\. ([A-Z][\w.&']+)")
    known = {m.groups() for a in kb.authorities.values() for m in pattern.finditer(a.cite)}
    for path in (ROOT / "knowledge").rglob("*.yaml"):
        if path.parent.name == "nlp" and path.name.startswith("gold"):
            continue    # annotated documents quote what their (synthetic) writers cite: test data, not the KB's law
        text = "\n".join(line for line in path.read_text().splitlines()
                         if not line.strip().lstrip("- ").startswith("source:"))  # where a cite was checked
        for m in pattern.finditer(text):
            assert m.groups() in known, f"{path.name}: '{m.group(0)}' is not in authorities.yaml"


# ---- the single validator covers knowledge/nlp/ -----------------------------------------------------
@pytest.mark.parametrize("file, old, new, field", [
    ("entities.yaml", "normalize: statute", "normalize: statue", "patterns[0].normalize"),
    ("entities.yaml", "(?P<code>(?i:cal(?:ifornia)?", "(?P<code>((?i:cal(?:ifornia)?", "patterns[0].regex"),
    ("facts.yaml", "  financial_gain:\n", "  financial_gains:\n", "facts"),
    ("facts.yaml", "client_refs: [", "client_refs: ['(unclosed', ", "client_refs"),
    ("gold-heldout.yaml", "\nnarratives:", "\nnarrative:", "narrative"),
])
def test_broken_nlp_data_is_refused_with_file_line_and_field(kb_copy, file, old, new, field):
    path = kb_copy / "nlp" / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(AssessmentError) as err:
        validation.validate(kb_copy)
    p = next(p for p in err.value.problems if p.field and p.field.startswith(field))
    assert p.code == "KB002" and p.file == f"knowledge/nlp/{file}" and p.line is not None


def test_validate_kb_command_refuses_a_broken_pattern(kb_copy):
    path = kb_copy / "nlp" / "entities.yaml"
    path.write_text(path.read_text().replace("normalize: statute", "normalize: statue", 1))
    bad = run_cli("validate-kb", "--dir", str(kb_copy))
    assert bad.returncode == 1 and "knowledge/nlp/entities.yaml:" in bad.stderr and "patterns[0].normalize" in bad.stderr


# ---- every cache that reads knowledge/ is registered, so a saved edit empties it ---------------------
CACHES = {"lru_cache", "cache", "cache_resource", "cache_data"}
# Caches that do not read knowledge/, each with the reason; any other cache must be a knowledge_cache.
NOT_KNOWLEDGE = {
    "assessment.law.conditions.parse": "parses a condition's text against the case-file schema; reads no file",
    "assessment.core.citations.parse_citation": "parses a citation's text into a frozen Citation; reads no file",
    "assessment.memo.chronology._png": "draws a chronology handed in as JSON; reads no file",
    "assessment.firm.accounts.common_passwords": "reads the packaged password list (firm/data), not knowledge/",
    "assessment.firm.db.expected_triggers": "reads the database migrations, not knowledge/",
    "assessment.narrative.model.load": "reads the trained weights in assessment/narrative/fact_model, not knowledge/ "
                                       "(train-nlp clears it after writing them)",
}
READS_KNOWLEDGE = re.compile(r"\bkbmod\b|\bkb\.load\b|default_dir|nlp_dir|knowledge|\bnlp\.|\brules\.")


def cached_functions() -> list[tuple[str, str, str]]:
    """(module.function, decorator, source) for every cached function in the package, read from the source."""
    out = []
    for path in sorted((ROOT / "assessment").rglob("*.py")):
        src = path.read_text(encoding="utf-8")
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for dec in node.decorator_list:
                    name = ast.unparse(dec.func if isinstance(dec, ast.Call) else dec).split(".")[-1]
                    if name in CACHES | {"knowledge_cache"}:
                        out.append((f"{module}.{node.name}", name, ast.get_source_segment(src, node)))
    return out


def test_every_cache_in_the_package_is_a_knowledge_cache_or_listed_as_not_reading_it():
    found = cached_functions()
    unlisted = [name for name, dec, _ in found if dec != "knowledge_cache" and name not in NOT_KNOWLEDGE]
    assert unlisted == [], "a cache of knowledge/ must be made with kb.knowledge_cache (else list it here, with why)"
    assert set(NOT_KNOWLEDGE) <= {name for name, dec, _ in found if dec != "knowledge_cache"}   # no stale entry
    for name, _, source in found:
        if name in NOT_KNOWLEDGE:
            assert not READS_KNOWLEDGE.search(source.split('"""')[-1]), f"{name} reads the knowledge base"
    assert {"assessment.narrative.pipeline.pipeline", "assessment.narrative.rules.entity_patterns",
            "assessment.narrative.rules.compiled"} <= {name for name, dec, _ in found if dec == "knowledge_cache"}


def test_the_registry_holds_every_knowledge_cache_and_a_save_empties_them():
    declared = {name for name, dec, _ in cached_functions() if dec == "knowledge_cache"}
    for module in {name.rsplit(".", 1)[0] for name in declared}:
        importlib.import_module(module)
    registered = {f"{c.__wrapped__.__module__}.{c.__wrapped__.__name__}" for c in kbmod.knowledge_caches()}
    assert registered == declared
    kbmod.clear_knowledge_caches()
    rules.compiled(str(nlp.nlp_dir()))
    assert rules.compiled.cache_info().currsize == 1
    kbmod.clear_knowledge_caches()
    assert all(c.cache_info().currsize == 0 for c in kbmod.knowledge_caches())


def test_a_defense_factor_without_its_legal_effect_is_refused_with_file_line_and_hint(kb_copy):
    path = kb_copy / "defenses" / "no-harm.yaml"
    text = path.read_text()
    path.write_text(text.replace("    weight: supporting\n", "", 1))
    (p,) = _problems(kb_copy)
    assert (p.code, p.file, p.field) == ("KB002", "knowledge/defenses/no-harm.yaml", "strengthened_by[0].weight")
    assert p.line == 6 and "knowledge/README.md" in p.hint
