"""The interactive page in a real browser (Debian's chromium through playwright), from disk."""

from pathlib import Path

import pytest

from gradengine.cli.examples import EXAMPLES
from gradengine.engine import Value, topological_order
from gradengine.viz import to_html

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)


def open_page(browser, path, width=1280, height=800):
    """The page at path, with every console error and uncaught exception collected."""
    page = browser.new_page(viewport={"width": width, "height": height})
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
    assert page.locator(".ge-view").get_attribute("data-step") == "0"
    before = shown_grads(page)
    assert all(attribute is None for attribute, _ in before.values())  # no grad before backward
    for _ in range(last + 2):  # two extra presses must not run past the end
        page.keyboard.press("ArrowRight")
    assert page.locator(".ge-view").get_attribute("data-step") == str(last)
    assert page.locator(".ge-counter").text_content() == f"step {last} of {last}"

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
    assert page.locator(".ge-phase").text_content() == "backward pass"
    a = page.locator('g.node[data-name="a"]')
    assert a.get_attribute("data-grad") == "1"
    assert "partial" in a.locator("text.grad").get_attribute("class")
    page.keyboard.press("ArrowRight")
    assert a.get_attribute("data-grad") == "7"
    assert "partial" not in a.locator("text.grad").get_attribute("class")
    panel = page.locator(".ge-step-text").text_content()
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
    page.wait_for_function("document.querySelector('.ge-view').dataset.step >= 2", timeout=5000)
    page.keyboard.press(" ")
    paused_at = page.locator(".ge-view").get_attribute("data-step")
    page.wait_for_timeout(1200)
    assert page.locator(".ge-view").get_attribute("data-step") == paused_at
    assert errors == []
    page.close()


# Every point along every drawn edge, against every card and pill, in the drawing's units.
EDGE_HITS = """() => {
    const boxes = [...document.querySelectorAll('g.node rect, g.op rect')].map(r => {
        const b = r.getBBox();
        const owner = r.closest('g.node');
        return [owner ? owner.dataset.name : 'a pill', b.x, b.y, b.x + b.width, b.y + b.height];
    });
    const hits = [];
    for (const path of document.querySelectorAll('path.edge')) {
        const length = path.getTotalLength();
        for (let s = 0; s <= length; s += 1) {
            const p = path.getPointAtLength(s);
            for (const [name, l, t, r, b] of boxes) {
                if (l + 1 < p.x && p.x < r - 1 && t + 1 < p.y && p.y < b - 1) {
                    hits.push(`edge ${path.dataset.from} -> ${path.dataset.to} in ${name}`);
                    break;
                }
            }
        }
    }
    return [...new Set(hits)];
}"""


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_no_drawn_edge_passes_through_a_box(browser, tmp_path, name):
    path = tmp_path / "page.html"
    to_html(EXAMPLES[name].build(), path)
    page, errors = open_page(browser, path)
    assert page.locator("path.edge").count() > 0
    assert page.evaluate(EDGE_HITS) == []
    assert errors == []
    page.close()


# For each card: is it inside the canvas, and how large its smallest text is on the screen.
CARD_FACTS = """() => {
    const canvas = document.querySelector('.ge-canvas').getBoundingClientRect();
    const scale = Number(document.querySelector('.ge-graph').dataset.scale);
    return [...document.querySelectorAll('g.node')].map(g => {
        const box = g.querySelector('rect').getBoundingClientRect();
        const inside = box.left >= canvas.left && box.top >= canvas.top
            && box.right <= canvas.right && box.bottom <= canvas.bottom;
        const sizes = [...g.querySelectorAll('text')].map(
            t => parseFloat(getComputedStyle(t).fontSize) * scale);
        return [g.dataset.name, inside, Math.min(...sizes)];
    });
}"""


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_example_is_whole_and_readable_at_1280_by_720(browser, tmp_path, name):
    path = tmp_path / "page.html"
    to_html(EXAMPLES[name].build(), path)
    page, errors = open_page(browser, path, 1280, 720)
    page.screenshot(path=str(tmp_path / f"{name}-1280x720.png"))
    for card, inside, smallest in page.evaluate(CARD_FACTS):
        assert inside, f"{card} is cut off"
        assert smallest >= 11, f"{card}: text {smallest:.1f} px on screen"
    panel = page.locator(".ge-panel").bounding_box()
    assert panel["y"] + panel["height"] <= 720 and panel["x"] + panel["width"] <= 1280
    assert errors == []
    page.close()


def test_the_leaves_stay_whole_in_a_small_window(browser, tmp_path):
    path = tmp_path / "page.html"
    to_html(EXAMPLES["expression"].build(), path)
    page, errors = open_page(browser, path, 1024, 700)
    for card, inside, _ in page.evaluate(CARD_FACTS):
        assert inside, f"{card} is cut off"
    assert errors == []
    page.close()


def view_box(page):
    """The part of the drawing in view: [left, top, width, height]."""
    return [float(v) for v in page.locator(".ge-graph").get_attribute("viewBox").split()]


def test_the_wheel_zooms_about_the_pointer(browser, tmp_path):
    path = tmp_path / "page.html"
    to_html(EXAMPLES["expression"].build(), path)
    page, errors = open_page(browser, path)
    canvas = page.locator(".ge-canvas").bounding_box()
    sx, sy = canvas["width"] * 0.3, canvas["height"] * 0.4  # the pointer, within the canvas
    left, top, width, _ = view_box(page)
    scale = canvas["width"] / width
    under = (left + sx / scale, top + sy / scale)  # the drawing point under the pointer
    page.mouse.move(canvas["x"] + sx, canvas["y"] + sy)
    page.mouse.wheel(0, -400)
    page.wait_for_function(f"Number(document.querySelector('.ge-graph').dataset.scale) > {scale}")
    left, top, width, _ = view_box(page)
    zoomed = canvas["width"] / width
    assert zoomed > scale * 1.5
    assert left + sx / zoomed == pytest.approx(under[0], abs=0.5)
    assert top + sy / zoomed == pytest.approx(under[1], abs=0.5)
    page.mouse.wheel(0, 400)
    page.wait_for_function(f"Number(document.querySelector('.ge-graph').dataset.scale) < {zoomed}")
    assert errors == []
    page.close()


def test_buttons_and_keys_zoom_and_fit(browser, tmp_path):
    path = tmp_path / "page.html"
    to_html(EXAMPLES["neuron"].build(), path)
    page, errors = open_page(browser, path)
    scale = lambda: float(page.locator(".ge-graph").get_attribute("data-scale"))  # noqa: E731
    fitted = scale()
    page.click(".ge-zoom-in")
    assert scale() == pytest.approx(fitted * 1.25)
    page.click(".ge-zoom-in")
    page.click(".ge-zoom-out")
    assert scale() == pytest.approx(fitted * 1.25)
    page.click(".ge-zoom-fit")
    assert scale() == pytest.approx(fitted)
    page.keyboard.press("+")
    assert scale() == pytest.approx(fitted * 1.25)
    page.keyboard.press("-")
    page.keyboard.press("-")
    assert scale() == pytest.approx(fitted / 1.25)
    page.keyboard.press("0")
    assert scale() == pytest.approx(fitted)
    assert page.locator(".ge-view").get_attribute("data-step") == "0"  # zoom keys do not step
    assert errors == []
    page.close()


def test_dragging_pans_the_drawing(browser, tmp_path):
    path = tmp_path / "page.html"
    to_html(EXAMPLES["expression"].build(), path)
    page, errors = open_page(browser, path)
    canvas = page.locator(".ge-canvas").bounding_box()
    left, top, width, _ = view_box(page)
    scale = canvas["width"] / width
    x, y = canvas["x"] + 200, canvas["y"] + 200
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 120, y + 60, steps=5)
    page.mouse.up()
    moved_left, moved_top, moved_width, _ = view_box(page)
    assert moved_width == pytest.approx(width)  # panning does not zoom
    assert moved_left == pytest.approx(left - 120 / scale, abs=0.5)
    assert moved_top == pytest.approx(top - 60 / scale, abs=0.5)
    assert errors == []
    page.close()


def test_a_big_graph_opens_whole_and_follows_the_step_when_zoomed_in(browser, tmp_path):
    x = Value(0.5, label="x")
    out = x
    for k in range(40):
        out = named_value((out * 0.9 + 0.1).tanh(), f"h{k}")
    path = tmp_path / "page.html"
    to_html(out, path)
    page, errors = open_page(browser, path)
    for card, inside, _ in page.evaluate(CARD_FACTS):
        assert inside, f"{card} is outside the fitted view"
    for _ in range(6):
        page.click(".ge-zoom-in")
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")  # the last backward step: at the leaves, far left
    facts = {card: inside for card, inside, _ in page.evaluate(CARD_FACTS)}
    assert facts["x"] or facts["h0"]  # the view followed the step to the left end
    assert not facts[f"h{39}"]
    assert errors == []
    page.close()


def named_value(value, label):
    value.label = label
    return value


def test_constants_show_their_value(browser, tmp_path):
    x = Value(3.0, label="x")
    path = tmp_path / "page.html"
    to_html(x * 2 + 0.5, path)
    page, errors = open_page(browser, path)
    names = [g.get_attribute("data-name") for g in page.locator("g.node").all()]
    assert "2" in names and "0.5" in names
    assert not any(name in ("v1", "v3") for name in names)
    assert page.locator('g.node[data-name="2"] text.name').text_content() == "2"
    assert "constant" in page.locator('g.node[data-name="2"] text.name').get_attribute("class")
    assert "auto" in page.locator('g.node[data-name="v2"] text.name').get_attribute("class")
    assert errors == []
    page.close()


def test_the_speed_menu_sets_how_fast_play_runs(browser, tmp_path):
    path = tmp_path / "page.html"
    to_html(EXAMPLES["expression"].build(), path)
    page, errors = open_page(browser, path)
    body = page.locator(".ge-view")
    assert body.get_attribute("data-interval") == "900"
    page.select_option(".ge-speed", "4")
    assert body.get_attribute("data-interval") == "225"
    page.keyboard.press(" ")
    page.wait_for_timeout(1000)
    fast = int(body.get_attribute("data-step"))
    assert fast >= 3
    page.select_option(".ge-speed", "0.25")  # slower while playing: the next step is 3.6 s away
    assert body.get_attribute("data-interval") == "3600"
    at = int(body.get_attribute("data-step"))
    page.wait_for_timeout(1500)
    assert int(body.get_attribute("data-step")) == at
    page.keyboard.press(" ")
    page.keyboard.press("]")  # faster, one notch: 0.5x
    assert body.get_attribute("data-interval") == "1800"
    for _ in range(9):
        page.keyboard.press("]")
    assert body.get_attribute("data-interval") == "225"  # 4x is the fastest
    page.keyboard.press("[")
    assert body.get_attribute("data-interval") == "450"
    assert page.locator(".ge-speed").input_value() == "2"
    assert errors == []
    page.close()
