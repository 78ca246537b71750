"""The built-in template catalog shipped with mcpctl (`builtin.time`, `builtin.github`, ...).

A server may name one in `fromTemplate` without a Template document: validation checks it against
the catalog, and the desired state then carries the template itself (as the source's own), so the
store, the gateway and export all see an ordinary Template. A Template of the same name in the
desired state wins over the catalog's.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources

import yaml

from ._base import ResourceModel
from ._server import Server, Template

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

BUILTIN_PREFIX = "builtin."
"""Names of catalog templates start with this."""
BUILTIN_MANAGER = "builtin"
"""`managed_by` shown for catalog templates that are not in the store."""


@cache
def builtin_templates() -> dict[str, Template]:
    """Every catalog template by name, read once from the package."""
    found: dict[str, Template] = {}
    for entry in sorted(resources.files(__package__).joinpath("builtin").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            # The C parser (where PyYAML has it): the same result as `safe_load`, several times faster.
            document = yaml.load(entry.read_text(encoding="utf-8"), Loader=_SafeLoader)
            template = Template.model_validate(document)
            found[template.metadata.name] = template
    return found


def with_builtin_templates(resources_: Sequence[ResourceModel]) -> tuple[ResourceModel, ...]:
    """`resources_` plus each catalog template a server uses that they do not define themselves."""
    defined = {r.metadata.name for r in resources_ if isinstance(r, Template)}
    catalog = builtin_templates()
    used = {
        r.spec.from_template.name
        for r in resources_
        if isinstance(r, Server) and r.spec.from_template is not None
    }
    extra = [catalog[name] for name in sorted(used - defined) if name in catalog]
    return (*resources_, *extra)
