"""The plan JSON as `-o json` prints it: the plan document of `_planfile`, printable."""

from __future__ import annotations

import json

from mcpctl.schemas import printable

from ._plan import Plan
from ._planfile import plan_document


def render_json(plan: Plan) -> str:
    """The plan JSON as `-o json` prints it (sensitive values hidden), ending in a newline.

    Control characters and bidi overrides are `\\uXXXX` escapes (the same string to a JSON reader).
    """
    return printable(json.dumps(plan_document(plan), indent=2, ensure_ascii=False)) + "\n"
