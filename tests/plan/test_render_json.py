"""The plan JSON (`-o json`) against its golden file, secrets hidden."""

from __future__ import annotations

import json

from mcpctl.plan import FORMAT_VERSION, render_json

from ._samples import SECRETS, check_golden, scenario_plan


def test_json_matches_golden_and_hides_secrets() -> None:
    text = render_json(scenario_plan())
    check_golden("plan.json", text)
    data = json.loads(text)
    assert data["format_version"] == FORMAT_VERSION
    assert data["summary"] == {"add": 4, "change": 3, "destroy": 3, "unchanged": 2}
    assert data["base_generation"] == 7 and data["revision"] == "abc123"
    assert next(c["action"] for c in data["changes"]) == "delete"
    for secret in SECRETS:
        assert secret not in text
    time = next(c for c in data["changes"] if c["address"] == "Server/time")
    assert time["after"]["spec"]["env"]["API_TOKEN"] == "(sensitive)"
