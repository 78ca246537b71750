"""Resource schemas of mcpctl: the models of every kind, loading YAML with positions, validation.

This package imports nothing else of mcpctl but `mcpctl.errors`.
"""

from __future__ import annotations

from ._base import API_VERSION, PREVENT_DESTROY_ANNOTATION, FromEnv, Identity, Metadata, ResourceModel, SecretKeyRef, SecretRef
from ._live import CLI_MANAGER, LiveResource, gitops_manager
from ._project import (
    BUILTIN_PROXY_MODELS,
    LINK_TARGET,
    Pagination,
    Project,
    ProjectLLM,
    ProjectSpec,
    Prompt,
    PromptSpec,
    ProxyModel,
    ProxyModelSpec,
)
from ._rbac import Group, GroupSpec, McpToken, McpTokenSpec, Operation, RoleBinding, RoleBindingSpec, Rule, Subject, User, UserSpec
from ._resource import KIND_ALIASES, KINDS, RESOURCE_ADAPTER, Resource, parse_resource, resolve_kind
from ._server import (
    HealthCheck,
    Server,
    ServerSpec,
    Template,
    TemplateParameter,
    TemplateRef,
    TemplateSpec,
    Timeouts,
    ToolFilter,
    instantiate_template,
    template_placeholders,
)

__all__ = [
    "API_VERSION",
    "BUILTIN_PROXY_MODELS",
    "CLI_MANAGER",
    "KINDS",
    "KIND_ALIASES",
    "LINK_TARGET",
    "PREVENT_DESTROY_ANNOTATION",
    "RESOURCE_ADAPTER",
    "FromEnv",
    "Group",
    "GroupSpec",
    "HealthCheck",
    "Identity",
    "LiveResource",
    "McpToken",
    "McpTokenSpec",
    "Metadata",
    "Operation",
    "Pagination",
    "Project",
    "ProjectLLM",
    "ProjectSpec",
    "Prompt",
    "PromptSpec",
    "ProxyModel",
    "ProxyModelSpec",
    "Resource",
    "ResourceModel",
    "RoleBinding",
    "RoleBindingSpec",
    "Rule",
    "SecretKeyRef",
    "SecretRef",
    "Server",
    "ServerSpec",
    "Subject",
    "Template",
    "TemplateParameter",
    "TemplateRef",
    "TemplateSpec",
    "Timeouts",
    "ToolFilter",
    "User",
    "UserSpec",
    "gitops_manager",
    "instantiate_template",
    "parse_resource",
    "resolve_kind",
    "template_placeholders",
]
