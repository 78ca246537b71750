"""Export the SVG screenshots of docs/console.md with Textual itself (`App.save_screenshot`).

Runs the real gateway over a throwaway SQLite store and drives it with a real MCP client, as the
console's Pilot tests do (tests/console/console_harness.py), then drives the real `ConsoleApp`
headless over that store. Run: `.venv/bin/python scripts/console_screenshots.py` (writes docs/console/).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from console.console_harness import opened, record_trail, settle  # noqa: E402  # the tests' own run
from mcpctl.console import ConsoleApp, StoreSource  # noqa: E402
from mcpctl.store import Store  # noqa: E402

OUT = ROOT / "docs" / "console"


async def shoot(store: Store) -> None:
    app = ConsoleApp(StoreSource(store, "sqlite:///demo/mcpctl.db"), follow=True)
    async with app.run_test(size=(150, 36)) as pilot:
        await settle(pilot, opened(app))
        app.save_screenshot("opening.svg", str(OUT))
        app.query_one("#timeline").move_cursor(row=0)  # type: ignore[attr-defined]
        await pilot.press("e")
        await settle(pilot)
        app.save_screenshot("next-error.svg", str(OUT))
        await pilot.press("slash", *"outcome=error", "enter")
        await settle(pilot, lambda: app.filter.fields == {"outcome": "error"})
        app.save_screenshot("filter.svg", str(OUT))
        await pilot.press("question_mark")
        await settle(pilot, lambda: bool(app.screen.query("#keys")))
        app.save_screenshot("keys.svg", str(OUT))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/mcpctl.db"
        with record_trail(url):
            reader = Store.open(url, migrate=False)
            try:
                asyncio.run(shoot(reader))
            finally:
                reader.close()
    for path in sorted(OUT.glob("*.svg")):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
