"""docs/deploy.md stays true to the files it describes: every chart value and compose setting is in its
tables, and every mcpctl command it shows uses flags that exist.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from typing import Any

import jsonschema
import yaml

from .deploy_harness import CHART, DEPLOY, ROOT, unknown_flags

DOC = (ROOT / "docs" / "deploy.md").read_text()
OBJECT_VALUES = {
    "gateway.resources",
    "gateway.livenessProbe",
    "gateway.readinessProbe",
    "gateway.startupProbe",
    "reconciler.resources",
    "ingress.annotations",
    "podSecurityContext",
    "securityContext",
}
"""Values documented as one row: objects handed to Kubernetes as they are."""


def value_keys(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in values.items():
        path = prefix + key
        if isinstance(value, dict) and value and path not in OBJECT_VALUES:
            yield from value_keys(value, path + ".")
        else:
            yield path


def table_keys(heading: str) -> set[str]:
    """The backticked names in the first column of the table under `heading`."""
    section = DOC.split(heading, 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([^`]+)`", row.split("|")[1])}


def test_every_chart_value_is_documented() -> None:
    values = set(value_keys(yaml.safe_load((CHART / "values.yaml").read_text())))
    documented = table_keys("### Values")
    assert values - documented == set(), "values missing from docs/deploy.md"
    assert documented - values == set(), "docs/deploy.md documents values the chart does not have"


def test_every_compose_setting_is_documented() -> None:
    used = set(re.findall(r"\$\{([A-Z_]+)", (DEPLOY / "compose.yaml").read_text()))
    assert used == table_keys("Settings, from the shell")


def test_systemd_units_run_existing_flags() -> None:
    commands = re.findall(r"^ExecStart=(\S*mcpctl) (.+)$", DOC, re.MULTILINE)
    inline = re.findall(r"`ExecStart=(\S*mcpctl) ([^`]+)`", DOC)
    assert len(commands) >= 1 and len(inline) >= 1
    for _binary, args in commands + inline:
        assert unknown_flags(shlex.split(args)) is None, args


def test_helm_set_flags_are_valid_values() -> None:
    """The `--set` flags of the install example, as Helm would merge them, pass the chart's schema."""
    values: dict[str, Any] = {}
    sets = re.findall(r"--set '?([A-Za-z.\[\]0-9]+)=([^\s']+)", DOC)
    assert len(sets) >= 5
    for path, raw in sets:
        node: Any = values
        parts = re.findall(r"([A-Za-z]+)(?:\[(\d+)\])?", path)
        for i, (key, index) in enumerate(parts):
            last = i == len(parts) - 1
            if index:
                items = node.setdefault(key, [])
                while len(items) <= int(index):
                    items.append({})
                node = items[int(index)]
                continue
            if last:
                node[key] = yaml.safe_load(raw)
            else:
                node = node.setdefault(key, {})
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator(schema).validate(values)
    assert values["ingress"]["hosts"] == [{"host": "mcp.example.com"}]
