"""Tests of mcpctl.schemas._server: a server from a template, with the server's own overrides."""

from __future__ import annotations

from mcpctl.schemas import FromEnv, HealthCheck, Server, Template, instantiate_template, parse_resource


def test_template_values_fill_placeholders_and_server_fields_override() -> None:
    template = parse_resource(
        {
            "apiVersion": "mcpctl.dev/v1",
            "kind": "Template",
            "metadata": {"name": "git"},
            "spec": {
                "parameters": [{"name": "repo", "required": True}],
                "server": {"transport": "stdio", "command": "g", "args": ["{{ repo }}"], "env": {"A": "1"}},
            },
        }
    )
    server = parse_resource(
        {
            "apiVersion": "mcpctl.dev/v1",
            "kind": "Server",
            "metadata": {"name": "git"},
            "spec": {
                "fromTemplate": {"name": "git", "values": {"repo": "."}},
                "env": {"B": {"fromEnv": "X"}},
                "healthCheck": {"tool": "t"},
            },
        }
    )
    assert isinstance(template, Template) and isinstance(server, Server)
    assert server.spec.from_template is not None
    spec = instantiate_template(template.spec, server.spec.from_template, server.spec)
    assert spec.args == ["."]
    assert spec.env == {"A": "1", "B": FromEnv(from_env="X")}
    assert spec.health_check == HealthCheck(tool="t")
    assert spec.timeouts == type(spec.timeouts)()
