"""`clets-assess`: the command line."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import typer
from pydantic import ValidationError
from ruamel.yaml import YAML

from assessment.cli import admin, firstrun
from assessment.core import casefile, settings
from assessment.core.errors import CF001, CF004, CF006, EV001, EV003, TP001, AssessmentError, Problem
from assessment.core.review import Review
from assessment.core.yamlio import write_atomic
from assessment.evidence import analyse as evidence
from assessment.evidence import charts as chartmod
from assessment.evidence import events, mappings, sniff, synth
from assessment.firm import datadir
from assessment.law import engine, nlp, validation
from assessment.law import kb as kbmod
from assessment.memo import default_template, templates
from assessment.memo import render as memomod
from assessment.narrative import evaluate
from assessment.narrative import model as nlp_model
from assessment.narrative import pipeline as narrative
from assessment.narrative import training as nlp_training
from assessment.narrative.tidy import decode

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Assess California CLETS-misuse cases: case files in, assessment and Word memo out.")

ROOT = settings.REPO


@app.callback()
def _private() -> None:
    """Everything a command writes (memos, exports, the database) is for its owner only."""
    os.umask(0o077)


def _fail(exc: AssessmentError) -> None:
    for p in exc.problems:
        typer.echo(f"error: {p}", err=True)
    raise typer.Exit(1)


def _date(value: str | None) -> dt.date:
    if not value:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        typer.echo(f"error: --as-of must be YYYY-MM-DD, not {value!r}", err=True)
        raise typer.Exit(2) from None


def _load(case_path: Path):
    k = kbmod.load()
    c = casefile.load(case_path, k)
    return k, c


@app.command()
def check(case_file: Path = typer.Argument(..., help="A clets-case/1 YAML file")) -> None:
    """Validate a case file against the format and the knowledge base."""
    try:
        k, c = _load(case_file)
    except AssessmentError as exc:
        _fail(exc)
    missing = [p for p in c.evidence.audit_logs + c.evidence.shifts + c.evidence.incidents
               if not (case_file.parent / p).exists()]
    for p in missing:
        typer.echo(f"error: {case_file}: {CF006} at evidence: file not found: {p} "
                   "(paths are relative to the case file's folder)", err=True)
    if missing:
        raise typer.Exit(1)
    typer.echo(f"ok: {case_file} ({c.matter.id}, {len(c.allegations)} allegations, {len(c.subjects)} subjects)")


@app.command("validate-kb")
def validate_kb(directory: Path | None = typer.Option(None, "--dir", help="Knowledge-base folder"),
                verbose: bool = typer.Option(False, "-v", "--verbose", help="List the unverified entries")) -> None:
    """Check the knowledge base: schema, every cross-reference, every scenario, and the
    narrative-mining data (the same validator the knowledge-base editor runs on every edit)."""
    try:
        v = validation.validate(directory or kbmod.default_dir())
    except AssessmentError as exc:
        _fail(exc)
    k = v.kb
    unverified = sum(1 for a in k.authorities.values() if not (a.verified and a.holding_verified))
    sourced = list(kbmod.iter_sourced(k))
    open_items = [(kind, label) for kind, label, e in sourced if not e.verified]
    typer.echo(f"ok: {len(k.statutes)} statutes, {len(k.defenses)} defenses, {len(k.authorities)} authorities "
               f"({unverified} with an unverified citation or holding), {len(k.families)} penalty families, "
               f"{v.scenarios} scenarios passed; {len(sourced)} sourced entries, {len(sourced) - len(open_items)} "
               f"verified, {len(open_items)} unverified; narrative mining: {v.entity_patterns} entity patterns, "
               f"{v.fact_triggers} fact triggers")
    if verbose:
        for kind, label in open_items:
            typer.echo(f"  unverified {kind}: {label}")


@app.command()
def assess(case_file: Path, as_json: bool = typer.Option(False, "--json", help="Print the clets-assessment/1 JSON"),
           as_of: str | None = typer.Option(None, "--as-of", help="Assessment date (YYYY-MM-DD); default today")) -> None:
    """Assess a case: statutes, elements, defenses, findings, open questions."""
    try:
        k, c = _load(case_file)
        result = engine.assess(c, k, evidence.analyse(c, case_file.parent), _date(as_of))
    except AssessmentError as exc:
        _fail(exc)
    if as_json:
        sys.stdout.write(result.to_json())
        return
    typer.echo(f"{result.matter.id}: {result.matter.title} (as of {result.as_of.isoformat()})")
    for s in result.statutes:
        lim = s.limitation.status if s.limitation else "-"
        typer.echo(f"  {s.citation:<14} {s.source:<9} {s.classification or '-':<12} limitation: {lim}")
    for f in result.findings:
        typer.echo(f"  finding {f.id}: {f.count}")
    for d in result.defenses:
        typer.echo(f"  defense {d.id}: {d.strength} ({d.summary})")
    typer.echo(f"  {len(result.open_questions)} open questions; {len(result.unverified)} unverified items")


@app.command()
def memo(case_file: Path, output: Path = typer.Option(..., "-o", "--output", help="Where to write the .docx"),
         template: Path | None = typer.Option(None, help="A .docx template (default: the active one uploaded on the "
                                                 "Memo templates page, else templates/memo.docx)"),
         as_of: str | None = typer.Option(None, "--as-of"),
         firm: str = typer.Option("Defense Counsel", help="Firm name for the letterhead line"),
         pdf: bool = typer.Option(False, help="Also write a PDF (needs LibreOffice)"),
         marks: Path | None = typer.Option(None, help="YAML of the attorney's event marks: "
                                              "'file#row': {mark: material|disputed|undisputed, note: ...}"),
         charts: bool = typer.Option(True, help="Put the timeline and heatmap in the memo"),
         review: Path | None = typer.Option(None, help="YAML of the attorney's review: overrides (kind, target, "
                                               "value, reason), notes, sections"),
         prepared_by: str | None = typer.Option(None, "--prepared-by",
                                                help="The attorney the memo names as its author (default: the case "
                                                     "file's matter.prepared_by)")) -> None:
    """Write the draft assessment memo as a Word document."""
    try:
        k, c = _load(case_file)
        ev = evidence.analyse(c, case_file.parent)
        result = engine.assess(c, k, ev, _date(as_of))
        marked = events.marked(ev.events if ev else [], _marks(marks)) if marks else []
        chosen = template or settings.MEMO_TEMPLATE.get()     # else the firm's active one (the built-in if none)
        data = memomod.render(result, c, chosen or templates.current()[0], firm_name=firm, marks=marked,
                              charts=chartmod.memo_charts(ev) if charts else None,
                              review=_review(review) if review else None, prepared_by=prepared_by)
    except AssessmentError as exc:
        _fail(exc)
    write_atomic(output, data)
    typer.echo(f"wrote {output} ({len(data)} bytes)")
    if pdf:
        out = memomod.to_pdf(data, output.parent / (output.stem + "-pdf"))
        typer.echo(f"wrote {out}" if out else "LibreOffice (soffice) is not installed: no PDF")


def _review(path: Path):
    try:
        return Review.model_validate(YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {})
    except ValidationError as exc:
        _fail(AssessmentError([Problem(CF004, e["msg"], file=str(path), field=".".join(map(str, e["loc"])))
                               for e in exc.errors()]))
    except Exception as exc:  # noqa: BLE001 - unreadable or not YAML
        _fail(AssessmentError([Problem(CF001, f"the review file cannot be read: {exc}", file=str(path))]))


@app.command("template-check")
def template_check(file: Path) -> None:
    """Check a memo template (.docx) as the app does before staff may use it: package, tags, test render."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        _fail(AssessmentError([Problem(TP001, f"cannot read the template: {exc}", file=str(file))]))
    problems = memomod.check_template(data, str(file))
    if problems:
        _fail(AssessmentError(problems))
    typer.echo(f"ok: {file} passes every check and renders the demo case")


def _marks(path: Path) -> dict:
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    except Exception as exc:  # noqa: BLE001  ruamel raises a few unmarked errors (e.g. duplicate keys)
        _fail(AssessmentError([Problem(EV003, f"the marks file is not valid YAML: {exc}", file=str(path))]))
    if not isinstance(data, dict):
        _fail(AssessmentError([Problem(EV003, "the marks file must map 'file#row' to {mark, note}", file=str(path))]))
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


@app.command()
def columns(file: Path, kind: str = typer.Option("audit", help="audit, shifts or cad"),
            ori: str | None = typer.Option(None, help="Agency ORI whose saved mapping applies")) -> None:
    """Show how an evidence file would be read: encoding, delimiter, header line, and each column's
    meaning with its confidence and reason (the mapping the Evidence page lets you correct)."""
    vocab = {"audit": sniff.AUDIT_HEADERS, "shifts": sniff.SHIFT_HEADERS, "cad": sniff.CAD_HEADERS}.get(kind)
    if vocab is None:
        _fail(AssessmentError([Problem(EV001, f"unknown kind '{kind}'", hint="use audit, shifts or cad")]))
    try:
        plan = mappings.plan_for(file, vocab, ori)
    except AssessmentError as exc:
        _fail(exc)
    comp = f", {plan.compression}" if plan.compression else ""
    typer.echo(f"{file}: {plan.kind}{comp}, {plan.encoding}, delimiter {plan.delimiter!r}, headers on line "
               f"{plan.header_line}; mapping {plan.source}")
    for meaning in vocab:
        if meaning in plan.columns:
            fmt = f" [{plan.formats[meaning]}]" if meaning in plan.formats else ""
            typer.echo(f"  {meaning:<12} <- {plan.columns[meaning]!r}{fmt}  {plan.confidence.get(meaning, 0):.0%}: "
                       f"{plan.reasons.get(meaning, '')}")
        else:
            typer.echo(f"  {meaning:<12}    (no column){'  ' + plan.reasons[meaning] if meaning in plan.reasons else ''}")


@app.command()
def extract(file: str = typer.Argument(..., help="A text file with the narrative, or - for standard input"),
            as_json: bool = typer.Option(False, "--json", help="Print JSON: entities and suggested facts"),
            client: list[str] = typer.Option([], "--client", help="The client's name (repeat for several)")) -> None:
    """Find statutes, case citations, dates, money, plates, case numbers, operator ids, terminals, ORIs
    and people in a narrative, and suggest case-file facts, each with the sentence it came from."""
    try:
        text, _encoding = decode(sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes())
    except OSError as exc:
        _fail(AssessmentError([Problem(CF001, f"cannot read the narrative: {exc}", file=file)]))
    try:
        got = narrative.extract(text, kbmod.load(), client)
    except AssessmentError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps({"entities": got["entities"], "facts": got["facts"]}, indent=2, ensure_ascii=False))
        return
    for e in got["entities"]:
        extra = f" -> {e['kb']}" if e.get("kb") else (" (not in the knowledge base)" if e["label"] == "STATUTE" else "")
        rel = f" [{e['relationship']}]" if e.get("relationship") else ""
        typer.echo(f"{e['label']:<12} {e['text']!r} = {e['normalized']}{extra}{rel}")
    for f in got["facts"]:
        typer.echo(f"suggest {f['key']} = {f['value']}  (sentence {f['sentence']}: \"{f['evidence']}\")")


@app.command("eval-nlp")
def eval_nlp(gold: list[Path] = typer.Option([], "--gold", help="Annotated set(s); default: every knowledge/nlp/gold*.yaml"),
             verbose: bool = typer.Option(False, "-v", "--verbose", help="List every miss and extra"),
             mode: str = typer.Option("both", "--mode", help="Fact suggesters: rules, model or both")) -> None:
    """Precision, recall and F1 of narrative mining per entity label and per fact key, every set apart."""
    if mode not in ("rules", "model", "both"):
        _fail(AssessmentError([Problem(CF004, f"--mode must be rules, model or both, not {mode!r}", field="--mode")]))
    sets = gold or sorted(nlp.nlp_dir().glob(nlp.GOLD))
    try:
        k = kbmod.load()
        for path in sets:
            ents, facts, n = evaluate.evaluate(path, k, mode)
            typer.echo(f"== {path.name} (facts: {mode})")
            typer.echo(evaluate.report(ents, facts, n, verbose))
            typer.echo("")
    except AssessmentError as exc:
        _fail(exc)


@app.command("train-nlp")
def train_nlp(seed: int = typer.Option(17, help="Random seed: the same seed and data give the same weights"),
              epochs: int = typer.Option(25, help="Passes over the training sentences"),
              output: Path = typer.Option(nlp_model.MODEL_DIR, "-o", help="Folder for the weights")) -> None:
    """Train the sentence classifier that works beside the trigger phrases, from the annotated
    development documents and the short narratives in knowledge/nlp/ (never the held-out documents),
    and save its weights; the folder is replaced whole or not at all."""
    trained, sentences = nlp_training.train(nlp.nlp_dir(), seed, epochs)
    tmp = output.with_name(output.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    trained.to_disk(tmp)
    old = output.with_name(output.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if output.exists():
        output.rename(old)
    tmp.rename(output)
    shutil.rmtree(old, ignore_errors=True)
    nlp_model.load.cache_clear()
    size = sum(f.stat().st_size for f in output.rglob("*") if f.is_file())
    typer.echo(f"trained on {sentences:,} sentences (seed {seed}, {epochs} epochs); wrote {output} ({size / 1e6:.1f} MB)")


@app.command("build-template")
def build_template(output: Path = typer.Option(ROOT / "templates" / "memo.docx", "-o")) -> None:
    """Rebuild the default memo template."""
    typer.echo(f"wrote {default_template.build(output)}")


@app.command()
def demo(output: Path = typer.Option(ROOT / "demo", "-o", help="Folder for the demo cases")) -> None:
    """Regenerate the synthetic demo cases (audit logs, shifts, CAD) from their scenarios."""
    for name in synth.generate_all(output):
        typer.echo(f"wrote {output / name}")


@app.command("app")
def run_app(port: int = typer.Option(8501), address: str = typer.Option("127.0.0.1")) -> None:
    """Start the Streamlit app (bound to 127.0.0.1 by default). On a fresh machine it first creates
    an administrator account (the password is printed once) and the demo matters."""
    datadir.harden()
    creds = firstrun.ensure()
    if creds:
        typer.echo(firstrun.announce(creds, f"http://{address}:{port}", sys.stdout.isatty()))
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    raise typer.Exit(subprocess.call([sys.executable, "-m", "streamlit", "run", str(ROOT / "assessment" / "app" / "webapp.py"),
                                      "--server.address", address, "--server.port", str(port)], cwd=ROOT, env=env))



admin.register(app)     # the administrator's commands (users, keys, database, log, backups)

if __name__ == "__main__":
    app()
