"""A real chromium for the panel's tests, and the evidence they leave behind: a
screenshot of each page, and every console or page error the panel raised."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, expect, sync_playwright

from tests.conftest import require_tool

# The machine running the suite is often busy: wait for the page as long as for an action.
expect.set_options(timeout=20_000)

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# The accessibility basics a page must meet, as a list of what is wrong.
UNLABELLED = """() => {
  const problems = [];
  const name = (node) => (node.getAttribute("aria-label") || node.textContent || "").trim();
  for (const control of document.querySelectorAll("input, select, textarea")) {
    if (control.type === "hidden" || control.closest("[hidden]")) continue;
    if (control.labels.length === 0 && !control.getAttribute("aria-label")) {
      problems.push(`unlabelled ${control.tagName.toLowerCase()} ${control.name || control.id}`);
    }
  }
  for (const node of document.querySelectorAll("button, a[href]")) {
    if (!node.closest("[hidden]") && !name(node)) problems.push(`nameless ${node.outerHTML}`);
  }
  if (!document.documentElement.lang) problems.push("no lang on <html>");
  if (document.querySelectorAll("main h1").length !== 1) problems.push("not one h1 in main");
  return problems;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, driven by Playwright (its own browsers are not used)."""
    executable = require_tool("chromium", "chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class PanelPage:
    """A browser tab on the panel, collecting what must never happen: console errors and
    uncaught page errors."""

    def __init__(self, page: Page, screenshots: Path) -> None:
        self.page = page
        self.screenshots = screenshots
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", self._page_error)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console error: {message.text} at {message.location}")

    def _page_error(self, error: Error) -> None:
        self.errors.append(f"uncaught page error: {error.message}\n{error.stack}")

    def screenshot(self, name: str) -> Path:
        """A full-page screenshot under the test's tmp path, copied to
        CANHGAC_ARTIFACTS_DIR/panel when that is set; the page's accessibility basics
        are checked first."""
        self.assert_accessible(name)
        path = self.screenshots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        artifacts = os.environ.get("CANHGAC_ARTIFACTS_DIR")
        if artifacts:
            target = Path(artifacts) / "panel"
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / path.name)
        return path

    def assert_accessible(self, name: str) -> None:
        """Every visible form control has a label, every button and link a name, and the
        page a language and one main heading."""
        problems: list[str] = self.page.evaluate(UNLABELLED)
        assert not problems, f"page {name}: " + "; ".join(problems)

    def assert_no_errors(self) -> None:
        assert not self.errors, "the panel logged errors:\n" + "\n".join(self.errors)


@pytest.fixture
def panel_page(browser: Browser, tmp_path: Path) -> Iterator[PanelPage]:
    """A fresh browser context (its own sessionStorage), 1440x900; the test fails on any
    console or page error, checked after the test body."""
    # The browser runs in UTC: the panel itself must show times in Asia/Ho_Chi_Minh.
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="vi-VN", timezone_id="UTC"
    )
    context.set_default_timeout(20_000)
    screenshots = tmp_path / "screenshots"
    screenshots.mkdir()
    watched = PanelPage(context.new_page(), screenshots)
    yield watched
    context.close()
    watched.assert_no_errors()
