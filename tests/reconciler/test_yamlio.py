"""Round-trip YAML writing: house formatting for new files, comments and key order kept in old ones."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from mcpctl.reconciler._yamlio import dump_resource_yaml, render_file, write_resources
from mcpctl.schemas import ResourceModel, parse_resource


def server(args: list[str], **extra: object) -> ResourceModel:
    return parse_resource(
        {
            "apiVersion": "mcpctl.dev/v1",
            "kind": "Server",
            "metadata": {"name": "time", "labels": {"team": "a"}},
            "spec": {"transport": "stdio", "command": "mcp-server-time", "args": args, **extra},
        }
    )


PROMPT = parse_resource(
    {
        "apiVersion": "mcpctl.dev/v1",
        "kind": "Prompt",
        "metadata": {"name": "review", "project": "platform"},
        "spec": {"content": "Line one.\nLine two.\n", "tags": ["b", "a"], "priority": 7},
    }
)

KEPT = """\
# yaml-language-server: $schema=../schemas/server.json
apiVersion: mcpctl.dev/v1
kind: Server
metadata:
  name: time   # the clock everyone uses
  labels: {team: a}
spec:
  # command before transport, on purpose
  command: mcp-server-time
  transport: stdio
  args: [--local-timezone, UTC]
  env:
    MODE: "fast"  # quoted by hand
"""


def test_dump_resource_yaml_is_stable_and_block_styled() -> None:
    text = dump_resource_yaml(PROMPT)
    assert text == (
        "apiVersion: mcpctl.dev/v1\n"
        "kind: Prompt\n"
        "metadata:\n"
        "  name: review\n"
        "  project: platform\n"
        "spec:\n"
        "  content: |\n"
        "    Line one.\n"
        "    Line two.\n"
        "  priority: 7\n"
        "  tags:\n"
        "    - a\n"
        "    - b\n"
    )
    assert parse_resource(YAML(typ="safe").load(text)) == PROMPT
    assert dump_resource_yaml(PROMPT) == text


def test_unchanged_file_is_left_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "time.yaml"
    path.write_text(KEPT)
    resource = server(["--local-timezone", "UTC"], env={"MODE": "fast"})
    assert render_file(path, [resource]) == KEPT
    assert write_resources(path, [resource]) is False


def test_change_keeps_comments_key_order_and_quoting(tmp_path: Path) -> None:
    path = tmp_path / "time.yaml"
    path.write_text(KEPT)
    resource = server(["--local-timezone", "Europe/Paris"], env={"MODE": "fast", "EXTRA": "1"})
    assert write_resources(path, [resource]) is True
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=../schemas/server.json\n")
    assert "name: time   # the clock everyone uses" in text
    assert "  # command before transport, on purpose\n  command: mcp-server-time\n  transport: stdio" in text
    assert "args: [--local-timezone, Europe/Paris]" in text
    assert 'MODE: "fast"  # quoted by hand' in text
    assert "EXTRA: '1'" in text
    loaded = YAML(typ="safe").load(text)
    assert parse_resource(loaded) == resource


def test_removed_fields_go_and_other_documents_stay(tmp_path: Path) -> None:
    path = tmp_path / "all.yaml"
    path.write_text(
        KEPT
        + "---\n# not ours\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
        + "---\napiVersion: mcpctl.dev/v1\nkind: User\nmetadata: {name: gone}\nspec: {email: g@x.io}\n"
    )
    resource = server(["--local-timezone", "UTC"])
    write_resources(path, [resource, PROMPT])
    text = path.read_text()
    assert "MODE" not in text and "env" not in text
    assert "kind: ConfigMap" in text and "# not ours" in text
    assert "name: gone" not in text
    assert text.index("kind: Server") < text.index("kind: ConfigMap") < text.index("kind: Prompt")


def test_proxy_model_stages_keep_their_type_and_parse_back() -> None:
    model = parse_resource(
        {
            "apiVersion": "mcpctl.dev/v1",
            "kind": "ProxyModel",
            "metadata": {"name": "pipeline"},
            "spec": {"stages": [{"type": "paginate"}, {"type": "summarize", "tier": "fast"}]},
        }
    )
    text = dump_resource_yaml(model)
    assert "- type: paginate\n" in text and "- type: summarize\n" in text
    assert parse_resource(YAML(typ="safe").load(text)) == model
