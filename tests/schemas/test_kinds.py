"""The kind descriptors: one per model, each read by everything that dispatches by kind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import PurePosixPath

import pytest

from mcpctl.schemas import KIND_ALIASES, KIND_INFO, KINDS, Identity, kind_info
from mcpctl.schemas import _kinds as kinds

LAYOUT = {
    Identity("Template", None, "git"): "templates/git.yaml",
    Identity("Server", None, "time"): "servers/time.yaml",
    Identity("ToolPins", None, "time"): "pins/time.yaml",
    Identity("ProxyModel", None, "pm"): "proxymodels/pm.yaml",
    Identity("Project", None, "platform"): "projects/platform/project.yaml",
    Identity("Prompt", "platform", "review"): "projects/platform/prompts/review.yaml",
    Identity("User", None, "alice"): "rbac/users.yaml",
    Identity("Group", None, "devs"): "rbac/groups.yaml",
    Identity("RoleBinding", "platform", "rb"): "rbac/bindings.yaml",
    Identity("McpToken", "platform", "ci"): "tokens/platform/ci.yaml",
}


def test_every_kind_has_one_descriptor_in_dependency_order() -> None:
    assert list(KIND_INFO) == list(KINDS)
    kinds.check_descriptors()
    for kind, info in KIND_INFO.items():
        assert info.kind == kind and info.model is KINDS[kind] and info.scope == KINDS[kind].scope
        assert all(KIND_ALIASES[word] == kind for word in info.words)
        assert info.columns
    assert KIND_ALIASES["srv"] == "Server" and KIND_ALIASES["tokens"] == "McpToken"
    assert [kind for kind, info in KIND_INFO.items() if info.mints_value] == ["McpToken"]


def test_layout_paths_of_every_kind() -> None:
    assert {identity.kind for identity in LAYOUT} == set(KINDS)
    for identity, path in LAYOUT.items():
        assert kind_info(identity.kind).layout_path(identity) == PurePosixPath(path)


def test_a_kind_without_a_descriptor_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(KIND_INFO, "Group")
    with pytest.raises(LookupError, match=r"missing \['Group'\]"):
        kinds.check_descriptors()
    with pytest.raises(LookupError, match="'Group' has no descriptor"):
        kind_info("Group")


def test_a_new_model_without_a_descriptor_fails_at_import() -> None:
    # A fresh interpreter: the model must stay out of this process's ResourceModel subclasses.
    code = (
        "from typing import Literal\n"
        "from mcpctl.schemas._base import ResourceModel\n"
        "class Widget(ResourceModel):\n"
        "    kind: Literal['Widget'] = 'Widget'\n"
        "from mcpctl.schemas import _kinds\n"
        "_kinds.check_descriptors()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "LookupError: kind descriptors (schemas/_kinds.py): missing ['Widget']" in result.stderr


def test_descriptors_may_not_share_words_or_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    twin = kinds.KindInfo(KINDS["Group"], ("group", "srv"), "groups", "rbac/groups.yaml", ())
    monkeypatch.setattr(kinds, "_KINDS", tuple(twin if i.kind == "Group" else i for i in kinds._KINDS))
    with pytest.raises(LookupError, match="share a CLI word"):
        kinds.check_descriptors()
