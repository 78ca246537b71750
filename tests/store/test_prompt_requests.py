"""Prompt requests in the store, on SQLite and PostgreSQL: proposing, revising, limits, decisions."""

from __future__ import annotations

import pytest

from mcpctl.errors import AlreadyExists, ResourceNotFound, UsageError
from mcpctl.store import PromptProposal, Store


def proposal(name: str = "style", **fields: object) -> PromptProposal:
    values: dict[str, object] = {
        "project": "platform",
        "name": name,
        "content": "Be brief.",
        "tags": ("writing",),
        "summary": "House style",
        "token": "ci-bot",
        "user": "alice",
        "session_id": "s1",
    }
    values.update(fields)
    return PromptProposal(**values)  # type: ignore[arg-type]


def test_a_proposal_is_stored_pending_and_its_proposer_may_revise_it(store: Store) -> None:
    first = store.propose_prompt(proposal())
    assert (first.status, first.content, first.tags, first.token, first.user) == (
        "pending",
        "Be brief.",
        ("writing",),
        "ci-bot",
        "alice",
    )
    revised = store.propose_prompt(proposal(content="Be briefer.", session_id="s2"))
    assert revised.content == "Be briefer." and revised.created_at == first.created_at
    assert [r.name for r in store.prompt_requests()] == ["style"]
    assert store.prompt_request("platform", "style") == revised
    assert store.prompt_request("platform", "nope") is None
    assert store.prompt_requests(project="other") == []


def test_another_proposers_pending_request_of_that_name_is_not_overwritten(store: Store) -> None:
    store.propose_prompt(proposal())
    with pytest.raises(AlreadyExists, match="pending review in project platform"):
        store.propose_prompt(proposal(token="other-bot", content="Shout."))
    assert store.prompt_request("platform", "style").content == "Be brief."  # type: ignore[union-attr]
    # The same name in another project is another request.
    assert store.propose_prompt(proposal(project="research", token="other-bot")).project == "research"


def test_without_auth_the_proposer_is_the_session(store: Store) -> None:
    store.propose_prompt(proposal(token=None, user=None, session_id="s1"))
    with pytest.raises(AlreadyExists):
        store.propose_prompt(proposal(token=None, user=None, session_id="s2"))
    assert store.propose_prompt(proposal(token=None, user=None, content="x")).content == "x"


def test_a_project_holds_at_most_max_pending_proposals(store: Store) -> None:
    for index in range(3):
        store.propose_prompt(proposal(f"p{index}"), max_pending=3)
    with pytest.raises(UsageError, match="already has 3 prompt proposals pending"):
        store.propose_prompt(proposal("p3"), max_pending=3)
    # Revising a pending one is not a new one.
    assert store.propose_prompt(proposal("p0", content="new"), max_pending=3).content == "new"
    store.decide_prompt_request("platform", "p1", "rejected", by="bob", reason="dup")
    assert store.propose_prompt(proposal("p3"), max_pending=3).status == "pending"


def test_decisions_are_recorded_once_and_a_decided_name_may_be_proposed_again(store: Store) -> None:
    store.propose_prompt(proposal())
    approved = store.decide_prompt_request(
        "platform", "style", "approved", by="bob", branch="prompt/platform/style", commit="a" * 40
    )
    assert (approved.status, approved.decided_by, approved.branch, approved.commit) == (
        "approved",
        "bob",
        "prompt/platform/style",
        "a" * 40,
    )
    assert approved.decided_at is not None
    with pytest.raises(UsageError, match="already approved"):
        store.decide_prompt_request("platform", "style", "rejected", by="bob", reason="no")
    with pytest.raises(ResourceNotFound, match="no prompt request 'nope' in project platform"):
        store.decide_prompt_request("platform", "nope", "rejected", by="bob")
    assert [r.name for r in store.prompt_requests(status="approved")] == ["style"]

    # Anyone may propose the name again once it was decided; the old decision is cleared.
    again = store.propose_prompt(proposal(token="other-bot"))
    assert (again.status, again.token, again.branch, again.decided_by) == ("pending", "other-bot", None, None)
    assert store.prompt_requests(status="approved") == []
    rejected = store.decide_prompt_request("platform", "style", "rejected", by="bob", reason="duplicate")
    assert (rejected.status, rejected.reason) == ("rejected", "duplicate")


def test_a_proposal_does_not_change_the_store_generation(store: Store) -> None:
    before = store.generation()
    store.propose_prompt(proposal())
    store.decide_prompt_request("platform", "style", "rejected", by="bob")
    assert store.generation() == before
