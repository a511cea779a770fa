"""The interactive page in a real browser (Debian's chromium through playwright), from disk."""

from pathlib import Path

import pytest

from gradengine.cli.examples import EXAMPLES
from gradengine.value import topological_order
from gradengine.viz import to_html

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def open_page(browser, path):
    """The page at path, with every console error and uncaught exception collected."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: errors.append(f"request failed: {request.url}"))
    page.goto(path.as_uri())
    return page, errors


def shown_grads(page):
    """{node name: (data-grad attribute, grad text)} for every node that shows a grad."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('g.node')].map(g => [
            g.dataset.name,
            [g.dataset.grad ?? null, g.querySelector('text.grad .val').textContent]]))"""
    )


@pytest.mark.parametrize("name", ["paths", "expression", "neuron"])
def test_stepping_to_the_end_shows_pythons_grads(browser, tmp_path, name):
    root = EXAMPLES[name].build()
    path = tmp_path / "page.html"
    to_html(root, path)
    root.backward()
    nodes = topological_order(root)
    operations = sum(1 for node in nodes if node._parents)
    last = 1 + 2 * operations  # start, one step forward and one backward per operation, done

    page, errors = open_page(browser, path)
    assert page.locator("body").get_attribute("data-step") == "0"
    before = shown_grads(page)
    assert all(attribute is None for attribute, _ in before.values())  # no grad before backward
    for _ in range(last + 2):  # two extra presses must not run past the end
        page.keyboard.press("ArrowRight")
    assert page.locator("body").get_attribute("data-step") == str(last)
    assert page.locator("#counter").text_content() == f"step {last} of {last}"

    after = shown_grads(page)
    names = [g.get_attribute("data-name") for g in page.locator("g.node").all()]
    assert len(names) == len(nodes)
    for node, shown in zip(nodes, names):
        attribute, text = after[shown]
        assert float(attribute) == node.grad, shown  # exactly the float backward() computed
        assert float(text) == pytest.approx(node.grad, rel=1e-5, abs=1e-12), shown
    assert errors == []
    page.close()


def test_the_paths_example_shows_partial_sums_then_the_total(browser, tmp_path):
    # b = a*a + a at a = 3: db/da = 2a + 1 = 7, reached as 1 (via b), then 3 + 3 (via a*a)
    path = tmp_path / "page.html"
    to_html(EXAMPLES["paths"].build(), path)
    page, errors = open_page(browser, path)
    page.keyboard.press("End")
    page.keyboard.press("Home")
    for _ in range(3):  # start, forward aa, forward b
        page.keyboard.press("ArrowRight")
    assert page.locator("#phase").text_content() == "backward pass"
    a = page.locator('g.node[data-name="a"]')
    assert a.get_attribute("data-grad") == "1"
    assert "partial" in a.locator("text.grad").get_attribute("class")
    page.keyboard.press("ArrowRight")
    assert a.get_attribute("data-grad") == "7"
    assert "partial" not in a.locator("text.grad").get_attribute("class")
    panel = page.locator("#step-text").text_content()
    assert "so a receives 1.0 × 3.0 = 3.0" in panel
    page.keyboard.press("ArrowLeft")
    assert a.get_attribute("data-grad") == "1"
    assert errors == []
    page.close()


def test_space_plays_and_pauses(browser, tmp_path):
    path = tmp_path / "page.html"
    to_html(EXAMPLES["expression"].build(), path)
    page, errors = open_page(browser, path)
    page.keyboard.press(" ")
    page.wait_for_function("document.body.dataset.step >= 2", timeout=5000)
    page.keyboard.press(" ")
    paused_at = page.locator("body").get_attribute("data-step")
    page.wait_for_timeout(1200)
    assert page.locator("body").get_attribute("data-step") == paused_at
    assert errors == []
    page.close()
