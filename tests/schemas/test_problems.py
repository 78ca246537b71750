"""Tests of mcpctl.schemas._problems: the one-line text form and the JSON form of a problem."""

from __future__ import annotations

import json

from mcpctl.schemas import Problem, format_field


def test_str_has_every_known_part() -> None:
    problem = Problem("repo/p.yaml", 7, 5, "Project", "web", "spec.servers[2]", "unknown Server 'x'")
    assert str(problem) == "repo/p.yaml:7:5: Project/web: spec.servers[2]: unknown Server 'x'"


def test_str_leaves_out_unknown_parts() -> None:
    assert str(Problem("f.yaml", message="binary file")) == "f.yaml: binary file"
    assert str(Problem("f.yaml", 3, None, message="m")) == "f.yaml:3: m"
    assert str(Problem("f.yaml", 3, 1, kind="Srever", message="m")) == "f.yaml:3:1: Srever: m"
    assert str(Problem("f.yaml", 3, 1, field="kind", message="m")) == "f.yaml:3:1: kind: m"


def test_warnings_say_so() -> None:
    problem = Problem("f.yaml", 1, 1, "Server", "s", "spec.env.TOKEN", "use secretRef", "warning")
    assert str(problem) == "f.yaml:1:1: Server/s: spec.env.TOKEN: warning: use secretRef"
    assert not problem.is_error


def test_to_dict_is_json_with_every_key() -> None:
    problem = Problem("f.yaml", 2, 3, None, None, None, "bad")
    assert json.loads(json.dumps(problem.to_dict())) == {
        "path": "f.yaml",
        "line": 2,
        "col": 3,
        "kind": None,
        "name": None,
        "field": None,
        "message": "bad",
        "severity": "error",
    }


def test_sorting_is_by_file_line_column() -> None:
    problems = [Problem("b", 1, 1, message="x"), Problem("a", 10, 2), Problem("a", 9, 30), Problem("a")]
    assert [(p.path, p.line) for p in sorted(problems, key=Problem.sort_key)] == [
        ("a", None),
        ("a", 9),
        ("a", 10),
        ("b", 1),
    ]


def test_format_field() -> None:
    assert format_field(("spec", "servers", 2)) == "spec.servers[2]"
    assert format_field(("spec", "rules", 0, "names", 1)) == "spec.rules[0].names[1]"
    assert format_field(()) == ""
