"""The built-in template catalog: shipped, valid, known to validation, carried into desired state."""

from __future__ import annotations

import io
from pathlib import Path

import yaml

import mcpctl.schemas
from mcpctl.schemas import (
    BUILTIN_PREFIX,
    Server,
    Template,
    builtin_templates,
    instantiate_template,
    load_and_validate,
    parse_resource,
    with_builtin_templates,
)

EXPECTED = {"time", "git", "fetch", "filesystem", "everything", "github", "huggingface", "linear", "context7"}


def server(name: str, template: str, **values: object) -> Server:
    doc = {
        "apiVersion": "mcpctl.dev/v1",
        "kind": "Server",
        "metadata": {"name": name},
        "spec": {"fromTemplate": {"name": template, "values": values}},
    }
    resource = parse_resource(doc)
    assert isinstance(resource, Server)
    return resource


def test_the_catalog_ships_every_template_and_each_instantiates() -> None:
    catalog = builtin_templates()
    assert {name.removeprefix(BUILTIN_PREFIX) for name in catalog} == EXPECTED
    for name, template in catalog.items():
        values = {p.name: ({"fromEnv": "X"} if p.secret else "/srv/x") for p in template.spec.parameters}
        ref = server("s", name, **values).spec.from_template
        assert ref is not None
        assert instantiate_template(template.spec, ref).transport in ("stdio", "streamable-http")
    remote = [t for t in catalog.values() if t.spec.server.transport == "streamable-http"]
    assert len(remote) >= 3 and all(any(p.secret for p in t.spec.parameters) for t in remote)


def test_the_catalog_reads_as_safe_load_reads_it() -> None:
    # builtin_templates() parses with libyaml's loader; the pure-Python one must agree on every file.
    folder = Path(mcpctl.schemas.__file__).with_name("builtin")
    documents = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.yaml"))]
    expected = {doc["metadata"]["name"]: Template.model_validate(doc) for doc in documents}
    assert builtin_templates() == expected


def validate(text: str) -> list[str]:
    return [str(p) for p in load_and_validate(["-"], stdin=io.BytesIO(text.encode())).problems]


def test_validation_knows_the_catalog() -> None:
    head = "apiVersion: mcpctl.dev/v1\nkind: Server\nmetadata:\n  name: s\nspec:\n  fromTemplate:\n"
    assert validate(head + "    name: builtin.time\n") == []
    assert validate(head + "    name: builtin.git\n") == [
        "<stdin>:6:3: Server/s: spec.fromTemplate: missing required parameter 'repository' of Template "
        "'builtin.git'"
    ]
    literal = validate(head + "    name: builtin.github\n    values: {authorization: Bearer x}\n")
    assert len(literal) == 1 and "parameter 'authorization' is secret" in literal[0]
    assert "unknown Template 'builtin.nope'" in validate(head + "    name: builtin.nope\n")[0]


def test_desired_state_carries_the_templates_it_uses_unless_it_defines_them() -> None:
    used = [server("a", "builtin.time"), server("b", "builtin.fetch"), server("c", "mine")]
    carried = with_builtin_templates(used)
    names = [r.metadata.name for r in carried if isinstance(r, Template)]
    assert names == ["builtin.fetch", "builtin.time"]
    metadata = {"name": "builtin.time", "description": "ours"}
    own = parse_resource({**builtin_templates()["builtin.time"].to_document(), "metadata": metadata})
    again = [r for r in with_builtin_templates([*used, own]) if r.metadata.name == "builtin.time"]
    assert [r.metadata.description for r in again] == ["ours"]
