"""Pure RBAC of mcpctl: subjects, grants with provenance, token narrowing, decisions with reasons.

Build a `PolicySet` from resources (a config repo's or the live store's), ask it `permissions_of`
a subject or to `decide` a question; `access_changes` compares two states. Imports `mcpctl.schemas`
and `mcpctl.errors` only: no SQL, git or HTTP.
"""

from __future__ import annotations

from mcpctl.errors import UnknownSubject

from ._access import AccessChange, access_changes
from ._grants import IMPLIES, KIND_RESOURCES, OPERATIONS, RESOURCES, ROLES, VERBS, Grant, Origin
from ._permissions import NO_RULE, Decision, PermissionSet, check_request
from ._policyset import POLICY_KINDS, PolicySet
from ._subjects import SUBJECT_KINDS, SubjectRef, parse_subject
from ._tools import ToolScope, contains, is_glob, matches

__all__ = [
    "IMPLIES",
    "KIND_RESOURCES",
    "NO_RULE",
    "OPERATIONS",
    "POLICY_KINDS",
    "RESOURCES",
    "ROLES",
    "SUBJECT_KINDS",
    "VERBS",
    "AccessChange",
    "Decision",
    "Grant",
    "Origin",
    "PermissionSet",
    "PolicySet",
    "SubjectRef",
    "ToolScope",
    "UnknownSubject",
    "access_changes",
    "check_request",
    "contains",
    "is_glob",
    "matches",
    "parse_subject",
]
