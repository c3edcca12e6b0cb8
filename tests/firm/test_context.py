"""The command line's actor runs outside the roles and the walls, so only the command line may build
it: not an argument of Actor, not kept by a copy, and never built under assessment/app/."""
import ast
import dataclasses

import pytest

from assessment.firm import access_log
from assessment.firm.context import Actor, cli_actor, command_line

from conftest import ROOT, make_user


def test_the_command_line_actor_is_built_only_by_command_line():
    ann = make_user("ann", "attorney", demo=False)
    with pytest.raises(TypeError):
        Actor(ann, "page", "Users", cli=True)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        dataclasses.replace(Actor(ann), cli=True)
    cli = command_line()
    assert cli.cli and cli.user is None and access_log.name_of(cli) == cli_actor()
    assert not dataclasses.replace(cli, user=ann).cli          # a copy is an ordinary actor
    assert not Actor(ann).cli and access_log.name_of(Actor(ann)) == access_log.actor_id(ann)


def _cli_uses(path):
    """(line, what) for each place in `path` that builds or names the command line's actor."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Name | ast.Attribute) and (getattr(node, "id", None) or getattr(node, "attr", None)) \
                in ("command_line", "cli_actor", "cli_source"):
            found.append((node.lineno, "names the command line"))
        elif isinstance(node, ast.ImportFrom) and any(a.name in ("command_line", "cli_actor", "cli_source")
                                                      for a in node.names):
            found.append((node.lineno, "imports the command line"))
        elif isinstance(node, ast.keyword) and node.arg == "cli":
            found.append((node.value.lineno, "passes cli="))
        elif isinstance(node, ast.Constant) and node.value == "cli":
            found.append((node.lineno, 'sets "cli" (setattr)'))
    return found


def test_no_page_builds_the_command_line_actor():
    app = ROOT / "assessment" / "app"
    found = [f"{p.relative_to(ROOT)}:{line}: {what}" for p in sorted(app.rglob("*.py")) for line, what in _cli_uses(p)]
    assert found == []


@pytest.mark.parametrize("source", [
    "from assessment.firm.context import command_line\nwho = command_line()\n",
    "from assessment.firm import context\nwho = context.command_line()\n",
    "who = Actor(user, cli=True)\n",
    "object.__setattr__(who, 'cli', True)\n",
])
def test_the_check_sees_each_way_in(tmp_path, source):
    page = tmp_path / "page.py"
    page.write_text(source)
    assert _cli_uses(page)
