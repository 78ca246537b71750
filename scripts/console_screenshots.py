"""Export the SVG screenshots of docs/console.md with Textual itself (`App.save_screenshot`).

Fills a throwaway SQLite store with the audit events of the console's Pilot tests and drives the
real `ConsoleApp` headless. Run: `.venv/bin/python scripts/console_screenshots.py` (writes docs/console/).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "console"))

from test_app import NEW, OLD, opened, settle  # noqa: E402  # the same events the tests read

from mcpctl.console import ConsoleApp, StoreSource  # noqa: E402
from mcpctl.store import Store  # noqa: E402

OUT = ROOT / "docs" / "console"


async def shoot(store: Store) -> None:
    app = ConsoleApp(StoreSource(store, "sqlite:///demo/mcpctl.db"), follow=True)
    async with app.run_test(size=(150, 36)) as pilot:
        await settle(pilot, opened(app))
        app.save_screenshot("opening.svg", str(OUT))
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
        store = Store.open(f"sqlite:///{folder}/mcpctl.db")
        try:
            store.write_audit_events([*OLD, *NEW])
            asyncio.run(shoot(store))
        finally:
            store.close()
    for path in sorted(OUT.glob("*.svg")):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
