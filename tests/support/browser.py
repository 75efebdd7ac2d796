"""The pages in a real browser: Debian's chromium driven by Playwright (no browser download),
one per test process (`WorkerChromium`), axe-core's rules run inside each page, and
keyboard-only navigation."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest
from axe_playwright_python.async_playwright import DEFAULT_OPTIONS, Axe
from playwright.async_api import Browser, Page, Playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Each page's scripts (axe-core's above all, put into ~100 documents for one run each)
    # run once and go: V8's optimizing compilers (TurboFan, and Maglev, on by default since
    # Chromium 117) and their background threads cost more than they save there (-10% of
    # chromium's CPU over a run of axe checks for TurboFan, another -9% for Maglev).
    "--js-flags=--no-opt --no-maglev --single-threaded",
]
# Playwright's own --disable-features (1.65's server/chromium/chromiumSwitches.ts; the lock's
# Playwright is checked by tests/unit/test_lock_file.py). Chromium keeps only the last
# --disable-features it is given, so ours repeats them in place of Playwright's.
PLAYWRIGHT = "1.65.3"
PLAYWRIGHT_DISABLED = (
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
)
# Chromium 156 builds each window's omnibox popup in advance, as WebUI pages
# (chrome://omnibox-popup.top-chrome) in a renderer of their own: one per context, as each is a
# window, about 0.45 s of CPU each, for a popup no test opens (-11 s of chromium's 56 s). It
# also starts a spare renderer ahead of each next navigation, which a test's context, closed
# after a page or two, mostly never uses (a third fewer renderer processes without it).
UNUSED_FEATURES = (
    "WebUIOmniboxPopup",
    "WebUIOmniboxAimPopup",
    "WebUIOmniboxFullPopup",
    "SpareRendererForSitePerProcess",
)
# tests/browser's modules run in the session's event loop, where the process's chromium lives
# (tests/browser/conftest.py).
SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")
SEVERE = ("serious", "critical")
_AXE = Axe()
# axe-playwright-python's own call (Axe.run: its default options, violations only), answered
# with what severe_violations reads of each violation, not axe's whole results (every rule's
# description, tags and links; each failing node's HTML and checks): their JSON cost the test
# process ~10 ms a check. Null where this document has no axe-core yet.
_AXE_RUN = (
    "window.axe && typeof window.axe.run === 'function'"
    f" ? axe.run({json.dumps(DEFAULT_OPTIONS)}).then(results => ({{violations: results.violations"
    ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
    " nodes: v.nodes.slice(0, 3).map(n => ({target: n.target}))}))})) : null"
)


def _disable_features(*names: str) -> str:
    return "--disable-features=" + ",".join(names)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class WorkerChromium:
    """One Playwright driver (node) and one chromium for a test process, launched on first use:
    each launch costs about a second of CPU, and a test needs only a context of its own (its
    cookies, storage, cache and permissions). Launched again when chromium went away, so a
    crash fails one test, not the ones after it."""

    def __init__(self, playwright: Playwright, executable: str) -> None:
        self._playwright = playwright
        self._executable = executable
        self._launched: Browser | None = None

    async def browser(self) -> Browser:
        if self._launched is None or not self._launched.is_connected():
            self._launched = await self._playwright.chromium.launch(
                executable_path=self._executable,
                args=[*CHROMIUM_ARGS, _disable_features(*PLAYWRIGHT_DISABLED, *UNUSED_FEATURES)],
                ignore_default_args=[_disable_features(*PLAYWRIGHT_DISABLED)],
            )
        return self._launched

    async def close(self) -> None:
        if self._launched is not None and self._launched.is_connected():
            await self._launched.close()


async def _axe_run(page: Page) -> dict[str, Any]:
    """axe-core's results on the page as it is now. axe-core (572 KB) is put into a document
    once, at its first check: a page that changed in place (a form's errors, an htmx swap)
    is checked again by the same axe."""
    response: dict[str, Any] | None = await page.evaluate(_AXE_RUN)
    if response is None:
        await page.evaluate(_AXE.axe_script)
        response = await page.evaluate(_AXE_RUN)
    assert response is not None, f"axe-core did not load into {page.url}"
    return response


async def severe_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, one line each."""
    results = await _axe_run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in results["violations"]
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
