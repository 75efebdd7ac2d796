"""The pages in a real browser: Debian's chromium driven by Playwright (no browser download),
axe-core's rules run inside each page, and keyboard-only navigation."""

from __future__ import annotations

import shutil

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SEVERE = ("serious", "critical")
_AXE = Axe()


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


async def severe_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, one line each."""
    results = await _AXE.run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in results.response["violations"]
        if v.get("impact") in SEVERE
    ]


async def assert_accessible(page: Page) -> None:
    found = await severe_violations(page)
    assert not found, f"axe on {page.url}:\n" + "\n".join(found)


async def tab_to(page: Page, selector: str, *, most: int = 400) -> None:
    """Presses Tab until the element `selector` names has the focus, as a keyboard user
    would; fails when it never does (unreachable by keyboard)."""
    target = page.locator(selector).first
    await target.wait_for()
    for _ in range(most):
        if await target.evaluate("el => el === document.activeElement"):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never took the focus after {most} presses of Tab")
