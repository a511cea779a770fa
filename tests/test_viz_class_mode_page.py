"""Class mode and embedding, in a real browser: ? until revealed, and the view in another page."""

from pathlib import Path

import pytest

from gradengine.cli.expression import build
from gradengine.viz import to_html
from gradengine.viz.html import graph_payload, script_json, view_files

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)
# The lecture's graph; its grads by hand: dL/dd = f, dL/df = d, dL/de = dL/dc = f,
# dL/da = f*b, dL/db = f*a, and its data: e = a*b, d = e + c, L = d*f.
PROGRAM = "L = d * f; d = e + c; e = a * b"
VALUES = {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0}
GRADS = {"L": 1.0, "d": -2.0, "f": 4.0, "e": -2.0, "c": -2.0, "a": 6.0, "b": -4.0}
DATA = {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0, "e": -6.0, "d": 4.0, "L": -8.0}


def lecture():
    out = build(PROGRAM, VALUES)
    out.backward()
    return out


def open_page(browser, path):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    return page, errors


def cards(page, row):
    """{name: text of the card's data or grad number}."""
    return page.evaluate(
        f"""() => Object.fromEntries([...document.querySelectorAll('g.node')].map(g =>
            [g.dataset.name, g.querySelector('text.{row} .val').textContent]))"""
    )


def test_hidden_grads_show_as_question_marks_until_clicked_or_r(browser, tmp_path):
    path = tmp_path / "sheet.html"
    to_html(lecture(), path, hide="grad")
    page, errors = open_page(browser, path)
    page.keyboard.press("End")
    assert set(cards(page, "grad").values()) == {"?"}
    assert page.locator("g.node[data-grad]").count() == 0  # not even in the attributes
    assert {float(v) for v in cards(page, "data").values()} == set(DATA.values())
    assert "?" in page.locator(".ge-step-text").text_content()
    page.click('g.node[data-name="a"] rect')  # one click reveals one grad
    grads = cards(page, "grad")
    assert float(grads["a"]) == GRADS["a"]
    assert [name for name, text in grads.items() if text == "?"] != []
    assert "grad a = 6.0, received from e" in page.locator(".ge-step-text").text_content()
    page.keyboard.press("r")  # R reveals every grad
    assert {name: float(text) for name, text in cards(page, "grad").items()} == GRADS
    assert "?" not in page.locator(".ge-step-text").text_content()
    page.keyboard.press("r")  # and hides them again
    assert set(cards(page, "grad").values()) == {"?"}
    page.get_by_role("button", name="reveal all").click()
    assert {name: float(text) for name, text in cards(page, "grad").items()} == GRADS
    assert errors == []
    page.close()


def test_hidden_data_keeps_the_leaves(browser, tmp_path):
    path = tmp_path / "sheet.html"
    to_html(lecture(), path, hide="data")
    page, errors = open_page(browser, path)
    page.keyboard.press("End")
    data = cards(page, "data")
    assert {name: data[name] for name in ("e", "d", "L")} == {"e": "?", "d": "?", "L": "?"}
    assert {name: float(data[name]) for name in "abcf"} == {n: DATA[n] for n in "abcf"}
    assert {name: float(text) for name, text in cards(page, "grad").items()} == GRADS
    page.locator('g.node[data-name="d"]').focus()
    page.keyboard.press("Enter")  # the keyboard reveals a focused value too
    assert float(cards(page, "data")["d"]) == DATA["d"]
    assert errors == []
    page.close()


EMBEDDING = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>{css}</style></head>
<body><h1>My page</h1><button id="play">Play</button>
<div id="graph-here" style="width: 900px; height: 600px"></div>
<script>{js}</script>
<script>
const payload = {payload};
window.view = GradengineGraph.mount(document.getElementById("graph-here"), payload);
</script></body></html>"""


def test_another_page_embeds_the_view_and_highlights_a_node(browser, tmp_path):
    out = lecture()
    d = next(p for p in out._parents if p.label == "d")
    files = view_files()
    payload = graph_payload(out, highlight=d, tags={"first": d._parents[0]})
    path = tmp_path / "mine.html"
    path.write_text(
        EMBEDDING.format(css=files["page.css"], js=files["page.js"], payload=script_json(payload)),
        encoding="utf-8",
    )
    page, errors = open_page(browser, path)
    assert page.locator("g.node.highlight").get_attribute("data-name") == "d"
    page.evaluate("view.highlight('first')")
    assert page.locator("g.node.highlight").get_attribute("data-name") == "e"
    page.evaluate("view.highlight(null)")
    assert page.locator("g.node.highlight").count() == 0
    # the page's own keys stay its own: the view steps only while it has the focus
    page.keyboard.press("ArrowRight")
    assert page.locator(".ge-view").get_attribute("data-step") == "0"
    page.locator(".ge-view").focus()
    page.keyboard.press("End")
    last = int(page.locator(".ge-view").get_attribute("data-step"))
    assert last == len(payload["steps"]) - 1
    assert {name: float(text) for name, text in cards(page, "grad").items()} == GRADS
    # new numbers for the same graph keep the step: c = 11 makes d = 5, L = -10, dL/df = 5
    again = build(PROGRAM, {**VALUES, "c": 11.0})
    again.backward()
    page.evaluate("view.highlight('first')")
    page.evaluate(f"view.update({script_json(graph_payload(again))})")
    assert page.locator(".ge-view").get_attribute("data-step") == str(last)
    assert page.locator("g.node.highlight").get_attribute("data-name") == "e"  # kept
    assert float(cards(page, "grad")["f"]) == 5.0 and float(cards(page, "data")["L"]) == -10.0
    assert page.locator("#play").text_content() == "Play"  # the page's own button is untouched
    page.evaluate("view.destroy()")
    assert page.locator("g.node").count() == 0
    assert errors == []
    page.close()


def test_the_views_controls_leave_play_pause_step_and_reset_to_the_page(browser, tmp_path):
    path = tmp_path / "page.html"
    to_html(lecture(), path, hide="grad")
    page, errors = open_page(browser, path)
    names = page.evaluate(
        """() => [...document.querySelectorAll('.ge-view :is(button, input, select)')]
              .map(e => e.getAttribute('aria-label') || e.textContent)"""
    )
    assert len(names) == 11
    for word in ("play", "pause", "step", "reset"):
        assert not [name for name in names if word in name.lower()], (word, names)
    page.get_by_role("button", name="to the end").click()
    assert page.locator(".ge-view").get_attribute("data-step") == "7"  # 3 forward, 3 back, done
    assert errors == []
    page.close()


def test_a_highlighted_neuron_of_a_network_can_be_brought_into_view(browser, tmp_path):
    from gradengine import MLP

    model = MLP(2, [16, 16, 1], seed=0)
    out = model([0.5, -1.0])
    out.backward()
    hidden = out._parents[1 + 16 + 5]  # the output neuron's x6: the sixth neuron of layer 2
    files = view_files()
    payload = graph_payload(out, tags={"layer 2, neuron 6": hidden})
    path = tmp_path / "net.html"
    path.write_text(
        EMBEDDING.format(css=files["page.css"], js=files["page.js"], payload=script_json(payload)),
        encoding="utf-8",
    )
    page, errors = open_page(browser, path)
    page.evaluate("view.highlight('layer 2, neuron 6', { show: true })")
    card = page.locator("g.node.highlight")
    assert card.get_attribute("data-name") == "L2N6"
    box, canvas = card.bounding_box(), page.locator(".ge-canvas").bounding_box()
    assert box["width"] >= 120  # drawn at a readable size (the card is 132 units wide)
    assert canvas["x"] <= box["x"] and box["x"] + box["width"] <= canvas["x"] + canvas["width"]
    assert canvas["y"] <= box["y"] and box["y"] + box["height"] <= canvas["y"] + canvas["height"]
    assert errors == []
    page.close()
