"""The web console in a real browser (Debian's headless Chromium driven by Playwright), through the local API
Gateway: a member signs up, makes a key, chats, builds a bot that cites its document; an admin reads the
dashboard's charts and disables the member, whose next action shows the refusal. Every page of the console
is screenshotted into dist/console-screenshots/ (the test fails if a route of the console's was not)."""

import re
import shutil
from pathlib import Path
from typing import ClassVar

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.conftest import PASSWORD, REPO, latest_code

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "dist" / "console-screenshots"
APP_JS = REPO / "lambda_src" / "gateway" / "console" / "app.js"
MEMBER = "console-member@example.com"
DOCUMENT = b"Office handbook.\n\nThe office parrot is called Captain Bluebeard and eats sunflower seeds.\n"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Every control must have an accessible name: a label, aria-label, or its own text.
UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('input, select, textarea, button, a[href]')]
  .filter((el) => el.offsetParent !== null || el.getClientRects().length > 0)
  .filter((el) => !((el.labels && el.labels.length) || el.getAttribute('aria-label')
                    || el.textContent.trim()))
  .map((el) => el.outerHTML.slice(0, 120))"""
OVERFLOWS = "document.documentElement.scrollWidth > document.documentElement.clientWidth"
WIDER_THAN_THE_PAGE = """() => [...document.body.querySelectorAll('*')]
  .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .filter((el) => !el.parentElement.closest('.table-wrap'))
  .map((el) => el.outerHTML.slice(0, 100)).slice(-5)"""
# A canvas with drawn pixels (not all transparent).
CANVAS_DRAWN = """(canvas) => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true; return false; }"""


def console_routes() -> set[str]:
    """The routes app.js knows (its page table): each must be screenshotted below."""
    source = APP_JS.read_text()
    members = set(re.findall(r'\{ path: "([\w/]+)"', source))
    hidden = set(re.findall(r'^\s+"([\w/]+)": \w+,$', source, re.MULTILINE))
    return members | hidden | {"login", "signup"}


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does)"
        )
    # A model call through the local gateway can take seconds on a busy machine: wait as long as for a page.
    expect.set_options(timeout=30_000)
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        # Playwright starts Chromium with a fresh, temporary profile (user-data dir) of its own each launch.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Console:
    """One person's browser tab on the console, recording what it shows."""

    shots: ClassVar[set[str]] = set()

    def __init__(self, browser, url: str, width: int = 1280) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        # Script errors only: the browser also logs each 4xx answer, which the pages show as they should.
        self.page.on("console", self._console_message)
        self.page.on("dialog", lambda dialog: dialog.accept())
        self.url = url

    def _console_message(self, message) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(message.text)

    def open(self, route: str = "") -> None:
        self.page.goto(f"{self.url}/#/{route}")

    def nav(self, name: str) -> None:
        self.page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()

    def shot(self, route: str, name: str | None = None) -> None:
        """A screenshot of the page now, after checking every control is named and nothing overflows."""
        page = self.page
        page.wait_for_load_state("networkidle")
        expect(page.get_by_text("Loading…")).to_have_count(0)
        assert page.evaluate(UNLABELLED_CONTROLS) == [], route
        width = page.viewport_size["width"]
        # Tables scroll inside their own box; nothing else may make the page scroll sideways.
        overflowing = page.evaluate(OVERFLOWS)
        assert not overflowing, f"{route} overflows {width}px: {page.evaluate(WIDER_THAN_THE_PAGE)}"
        page.screenshot(path=str(SCREENSHOTS / f"{name or route.replace('/', '-')}.png"), full_page=True)
        Console.shots.add(route)

    def close(self) -> None:
        assert self.errors == [], self.errors
        self.context.close()


def test_a_member_and_an_admin_use_the_console(stack, browser, admin):
    url = stack.api_url
    member = Console(browser, url)
    page = member.page

    # The page and its files come through the gateway without a token or a key, with their headers.
    response = page.goto(f"{url}/")
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    member.shot("login")

    # Sign up with the code from the local mailbox; the first key is shown once, with a copy button.
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Full name").fill("Console Member")
    page.get_by_label("Work email").fill(MEMBER)
    page.get_by_label("Password").fill(PASSWORD)
    member.shot("signup")
    page.get_by_role("button", name="Sign up").click()
    page.get_by_label("Code").fill(latest_code(MEMBER))
    member.shot("signup", "signup-code")
    page.get_by_role("button", name="Confirm").click()
    first_key = page.get_by_test_id("secret-value").inner_text()
    assert len(first_key) >= 20
    expect(page.get_by_role("button", name="Copy the key")).to_be_visible()
    member.shot("signup", "signup-key")
    page.get_by_role("button", name="Continue to the console").click()
    assert page.get_by_test_id("signed-in-as").inner_text() == MEMBER

    # Keys: make one (shown once), revoke it.
    member.nav("API keys")
    page.get_by_role("button", name="Create a key").click()
    new_key = page.get_by_test_id("secret-value").inner_text()
    assert new_key
    assert new_key != first_key
    new_key_id = page.get_by_test_id("secret-label").inner_text().removeprefix("New key ")
    expect(page.get_by_role("button", name=re.compile(r"^Revoke key "))).to_have_count(2)
    member.shot("keys")
    page.get_by_role("button", name=f"Revoke key {new_key_id}").click()
    page.get_by_role("cell", name="revoked").wait_for()

    # Chat with the local model: the reply, its tokens and its cost.
    member.nav("Chat")
    page.get_by_role("textbox", name="Message").fill("Hello console, what is the weather like?")
    page.get_by_role("button", name="Send").click()
    reply = page.get_by_test_id("reply").first
    reply.wait_for()
    assert "Echo:" in reply.inner_text()
    cost = page.get_by_test_id("reply-cost").first.inner_text()
    assert re.search(r"\d+ tokens in · \d+ out · \$0\.\d+", cost), cost
    expect(page.get_by_role("link", name=re.compile("Hello console"))).to_be_visible()
    member.shot("chat")

    # A bot with an uploaded document, shared with everyone; its answer cites the document.
    member.nav("My bots")
    member.shot("bots")
    page.get_by_role("link", name="Create a bot").click()
    page.get_by_label("Title").fill("Parrot expert")
    page.get_by_label("Description").fill("Knows the office parrot")
    page.get_by_label("Instruction").fill("Answer from the handbook.")
    page.get_by_label("Upload documents").set_input_files(
        {"name": "handbook.md", "mimeType": "text/markdown", "buffer": DOCUMENT}
    )
    page.get_by_label("Who may use it").select_option("all")
    member.shot("bots/new")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("status").filter(has_text="Saved.").wait_for()
    member.shot("bots/edit")
    page.get_by_role("link", name="Chat with it").click()
    page.get_by_role("textbox", name="Message").fill("What is the parrot called?")
    page.get_by_role("button", name="Send").click()
    page.get_by_test_id("sources").first.wait_for()
    assert "handbook.md" in page.get_by_test_id("sources").first.inner_text()
    assert "Bluebeard" in page.get_by_test_id("reply").last.inner_text()
    expect(page.get_by_role("link", name="What is the parrot called?")).to_be_visible()
    member.shot("chat", "chat-bot")
    member.nav("Bot store")
    page.get_by_test_id("bot").first.wait_for()
    member.shot("store")

    # Readable at 375 px wide.
    narrow = Console(browser, url, width=375)
    narrow.page.goto(f"{url}/")
    narrow.page.get_by_label("Email").fill(MEMBER)
    narrow.page.get_by_label("Password").fill(PASSWORD)
    narrow.page.get_by_role("button", name="Log in").click()
    narrow.page.get_by_label("API key", exact=True).fill(first_key)
    narrow.page.get_by_role("button", name="Use this key").click()
    narrow.page.get_by_test_id("signed-in-as").wait_for()
    narrow.page.get_by_role("link", name=re.compile("Hello console")).click()
    narrow.page.get_by_test_id("reply").first.wait_for()
    narrow.shot("chat", "chat-375px")
    for route in ("keys", "usage", "bots", "store"):
        narrow.page.get_by_role("navigation", name="Main").get_by_role("link").first.wait_for()
        narrow.open(route)
        narrow.shot(route, f"{route}-375px")
    narrow.close()

    # The admin: the dashboard's charts hold what the member just did.
    boss = Console(browser, url)
    boss.open()
    boss.page.get_by_label("Email").fill(admin.email)
    boss.page.get_by_label("Password").fill(PASSWORD)
    boss.page.get_by_role("button", name="Log in").click()
    boss.page.get_by_label("API key", exact=True).fill(admin.registration["api_key"])
    boss.page.get_by_role("button", name="Use this key").click()
    boss.nav("Admin")
    canvas = boss.page.get_by_test_id("cost-chart").locator("canvas")
    canvas.wait_for()
    assert canvas.evaluate(CANVAS_DRAWN)
    assert int(boss.page.get_by_test_id("total-requests").inner_text().replace(",", "")) >= 2
    assert boss.page.get_by_test_id("model-shares").locator("rect").count() >= 1
    table = boss.page.get_by_test_id("users-table")
    table.get_by_role("link", name=MEMBER).wait_for()
    boss.shot("admin")

    boss.page.get_by_role("link", name="Bot governance").click()
    boss.page.get_by_role("button", name="Hide Parrot expert").first.wait_for()
    boss.shot("admin/bots")

    boss.nav("Admin")
    boss.page.get_by_test_id("users-table").get_by_role("link", name=MEMBER).click()
    assert boss.page.get_by_test_id("user-status").inner_text() == "enabled"
    boss.page.get_by_role("button", name="What is the parrot called?").wait_for()
    boss.shot("admin/user")

    # The admin sets the member's limits; the member's usage page shows each as a bar.
    boss.page.get_by_label("Requests per day").fill("100")
    boss.page.get_by_label("Budget per month (USD)").fill("5")
    boss.page.get_by_role("button", name="Save the limits").click()
    boss.page.get_by_role("status").filter(has_text="The limits are saved").wait_for()
    member.nav("Usage")
    expect(page.get_by_role("meter")).to_have_count(2)
    requests_today = page.get_by_role("meter", name=re.compile(r"^Requests today: [1-9]\d* used of 100$"))
    expect(requests_today).to_be_visible()
    member.shot("usage")

    boss.page.get_by_role("button", name="Disable user").click()
    boss.page.get_by_test_id("user-status").filter(has_text="disabled").wait_for()
    boss.shot("admin/user", "admin-user-disabled")

    # The member's next action shows the refusal, not a blank page.
    member.nav("Chat")
    refusal = page.get_by_role("alert").first
    refusal.wait_for()
    assert re.search(r"disabled|refused|no longer valid|signed out", refusal.inner_text(), re.IGNORECASE)
    # The page's loads fail at once with the same refusal: it is shown once.
    page.wait_for_load_state("networkidle")
    shown = page.get_by_role("alert").all_inner_texts()
    assert len(shown) == len(set(shown)), shown
    member.shot("chat", "member-refused")

    # Publication (PublishAllowed): the admin publishes a bot of their own.
    boss.page.goto(f"{url}/#/bots/new")
    boss.page.get_by_label("Title").fill("Admin helper")
    boss.page.get_by_role("button", name="Create").click()
    boss.page.get_by_role("status").filter(has_text="Saved.").wait_for()
    boss.page.goto(boss.page.url.replace("#/bots/edit", "#/bots/publication").replace("&saved=1", ""))
    boss.page.get_by_role("button", name="Publish").click()
    boss.page.get_by_text("/published/bots/").wait_for()
    # The first key's value, shown once (the answer's key.api_key).
    assert len(boss.page.get_by_test_id("secret-value").inner_text()) >= 20
    boss.shot("bots/publication")

    boss.close()
    member.close()
    assert console_routes() <= Console.shots, f"pages never screenshotted: {console_routes() - Console.shots}"


# Two error notes, each in a component of its own (as two loads of a page are), whose errors the test sets in
# any order; answers how many notes each step left visible.
TWO_NOTES_SET_IN_TURN = """async (steps) => {
  const entry = document.querySelector('script[type="module"]').src;
  const ui = await import(entry.replace(/app\\.js$/, "ui.js"));
  const setters = [];
  const Slot = ({ index }) => {
    const [error, setError] = ui.useState(null);
    setters[index] = setError;
    return ui.html`<${ui.ErrorNote} error=${error} />`;
  };
  const root = document.createElement("div");
  document.body.append(root);
  ui.render(ui.html`<div><${Slot} index=${0} /><${Slot} index=${1} /></div>`, root);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
  const refusal = { code: "invalid_token", message: "This session has been signed out.", status: 401 };
  const visible = [];
  for (const [index, set] of steps) {
    setters[index](set ? refusal : null);
    await settle();
    visible.push([...root.querySelectorAll("p.error")].filter((note) => !note.hidden).length);
  }
  return visible;
}"""


@pytest.mark.parametrize(
    ("steps", "visible"),
    [
        ([[0, True], [1, True]], [1, 1]),
        # the later note fails first: once the earlier one says the same, the later one hides
        ([[1, True], [0, True]], [1, 1]),
        # the note it repeated goes: the later one shows again
        ([[1, True], [0, True], [0, False]], [1, 1, 1]),
        ([[0, True], [1, True], [1, False], [0, False]], [1, 1, 1, 0]),
    ],
)
def test_the_same_refusal_from_two_loads_is_shown_once_whichever_fails_first(stack, browser, steps, visible):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{stack.api_url}/")
        page.get_by_role("button", name="Log in").wait_for()
        assert page.evaluate(TWO_NOTES_SET_IN_TURN, steps) == visible
    finally:
        context.close()
