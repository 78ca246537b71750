"""Project, Prompt and ProxyModel kinds: what a team's MCP endpoint serves and how."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from ._base import Model, Name, ResourceModel, SortedNames, SortedStrings

BUILTIN_PROXY_MODELS = ("default", "gate", "content-pipeline")
"""Proxy models every gateway knows; any other value must name a ProxyModel resource."""

_LINK_NAME = r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?"
LINK_TARGET_PATTERN = rf"^{_LINK_NAME}/{_LINK_NAME}:\S+$"
"""`Prompt.spec.linkTarget` as the JSON Schemas publish it: ECMA-262 has no `(?P<name>...)` groups."""
LINK_TARGET = re.compile(rf"^(?P<project>{_LINK_NAME})/(?P<server>{_LINK_NAME}):(?P<uri>\S+)$")
"""Syntax of `Prompt.spec.linkTarget`: `<project>/<server>:<uri>` (matches what LINK_TARGET_PATTERN does)."""


class ProjectLLM(Model):
    """Which LLM the project's gate uses."""

    provider: str | None = None
    """Provider name from the gateway's LLM configuration (e.g. `vllm`); the gateway default when unset."""
    model: str | None = None
    """Model name served by that provider."""


class Pagination(Model):
    """Limits of the content pipeline."""

    max_response_chars: Annotated[int, Field(ge=1000, strict=True)] = 80_000
    """Tool results longer than this are cached and served in pages."""


class GateSettings(Model):
    """How a gated project (`proxyModel: gate`) picks the tools a session starts with."""

    max_tools: Annotated[int, Field(ge=1, le=64, strict=True)] = 8
    """Most tools `begin_session` unlocks at once (`unlock_tools` may add more later)."""
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 2.0
    """How long the LLM may take to choose before the deterministic matcher decides instead."""


class ProjectSpec(Model):
    """A bundle of servers served as one MCP endpoint, `/projects/<name>/mcp`."""

    servers: SortedNames = Field(default_factory=list)
    """Names of the Servers whose tools, prompts and resources the project exposes."""
    proxy_model: Name = "default"
    """`default`, `gate` (gated sessions), `content-pipeline`, or the name of a ProxyModel."""
    instructions: str = ""
    """Sent to clients in the MCP initialize result."""
    llm: ProjectLLM = Field(default_factory=ProjectLLM)
    """LLM used by the gate to select prompts and tools."""
    gate: GateSettings = Field(default_factory=GateSettings)
    """Limits of gated sessions (`proxyModel: gate`)."""
    pagination: Pagination = Field(default_factory=Pagination)
    """Pagination of large results."""


class Project(ResourceModel):
    """A team's MCP endpoint: a set of servers plus prompts, served by the gateway."""

    kind: Literal["Project"] = "Project"
    """Always `Project`."""
    spec: ProjectSpec = Field(default_factory=ProjectSpec)
    """Servers, proxy model, instructions."""


class PromptSpec(Model):
    """A prompt served in a project, either inline or linked to an upstream resource."""

    content: str | None = None
    """Inline prompt text."""
    link_target: Annotated[str, StringConstraints(pattern=LINK_TARGET_PATTERN)] | None = None
    """`<project>/<server>:<uri>`: the prompt's text is that server's resource."""
    priority: Annotated[int, Field(ge=1, le=10, strict=True)] = 5
    """1 (low) to 10 (high); the gate prefers higher priorities."""
    tags: SortedStrings = Field(default_factory=list)
    """Tags matched against a session's task."""
    summary: str = ""
    """One-line summary shown in the prompt index."""

    @model_validator(mode="after")
    def _check_source(self) -> PromptSpec:
        if (self.content is None) == (self.link_target is None):
            raise ValueError("exactly one of content or linkTarget is required")
        return self


class Prompt(ResourceModel):
    """A prompt in a project."""

    scope = "project"
    kind: Literal["Prompt"] = "Prompt"
    """Always `Prompt`."""
    spec: PromptSpec
    """Content or link, priority, tags."""


class PaginateStage(Model):
    """Cache results over a size and serve them in pages."""

    type: Literal["paginate"]
    """Always `paginate`."""
    max_response_chars: Annotated[int, Field(ge=1000, strict=True)] = 80_000
    """Results longer than this are paginated."""
    page_chars: Annotated[int, Field(ge=500, strict=True)] = 40_000
    """Size of one page."""


class SplitSectionsStage(Model):
    """Split long documents (prompts, results) into headed sections."""

    type: Literal["split-sections"]
    """Always `split-sections`."""
    max_section_chars: Annotated[int, Field(ge=500, strict=True)] = 20_000
    """Longest section served whole."""


class SummarizeStage(Model):
    """Summarize long results with the project's LLM."""

    type: Literal["summarize"]
    """Always `summarize`."""
    max_chars: Annotated[int, Field(ge=100, strict=True)] = 4_000
    """Length of the summary."""
    tier: Literal["fast", "heavy"] = "heavy"
    """Which LLM tier summarizes first (the other one is the fallback, then a head-and-tail excerpt)."""


Stage = Annotated[PaginateStage | SplitSectionsStage | SummarizeStage, Field(discriminator="type")]


class ProxyModelSpec(Model):
    """An ordered content pipeline applied to results and prompts."""

    stages: list[Stage] = Field(min_length=1)
    """Stages applied in order."""


class ProxyModel(ResourceModel):
    """A named content pipeline that projects can select with `proxyModel`."""

    kind: Literal["ProxyModel"] = "ProxyModel"
    """Always `ProxyModel`."""
    spec: ProxyModelSpec
    """The stages."""


DEFAULT_PAGE_CHARS = 40_000
"""Page size of the built-in proxy models (never more than the project's `maxResponseChars`)."""


def _builtin_paginate(pagination: Pagination) -> PaginateStage:
    limit = pagination.max_response_chars
    return PaginateStage(type="paginate", max_response_chars=limit, page_chars=min(DEFAULT_PAGE_CHARS, limit))


def builtin_proxy_model(name: str, pagination: Pagination | None = None) -> ProxyModelSpec | None:
    """The stages of a built-in proxy model (`default`, `gate`, `content-pipeline`); None for other names.

    Their paginate stage uses the project's `spec.pagination` (the defaults without one).
    """
    if name not in BUILTIN_PROXY_MODELS:
        return None
    paginate = _builtin_paginate(pagination or Pagination())
    if name == "content-pipeline":
        return ProxyModelSpec(stages=[paginate, SplitSectionsStage(type="split-sections")])
    return ProxyModelSpec(stages=[paginate])


def project_stages(spec: ProjectSpec, proxy_models: dict[str, ProxyModelSpec]) -> list[Stage] | None:
    """The content stages a project runs, in order; None when its `proxyModel` names no known ProxyModel.

    Every project paginates: a ProxyModel without a paginate stage gets one last, from the project's
    `spec.pagination`, and a ProxyModel's paginate stage never allows more than the project does.
    """
    builtin = builtin_proxy_model(spec.proxy_model, spec.pagination)
    if builtin is not None:
        return list(builtin.stages)
    model = proxy_models.get(spec.proxy_model)
    if model is None:
        return None
    limit = spec.pagination.max_response_chars
    stages: list[Stage] = []
    for stage in model.stages:
        if isinstance(stage, PaginateStage):
            bounded = min(stage.max_response_chars, limit)
            stage = stage.model_copy(
                update={"max_response_chars": bounded, "page_chars": min(stage.page_chars, bounded)}
            )
        stages.append(stage)
    if not any(isinstance(stage, PaginateStage) for stage in stages):
        stages.append(_builtin_paginate(spec.pagination))
    return stages
