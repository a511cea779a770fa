"""The playground page driven in Chromium as a user drives it (Playwright).

Set up a run in the URL, press Step, and check the numbers against the same run written out
here with gradengine's public API; hover a neuron and a weight, edit a weight, add a point,
reload the URL, export the script and run it, open a point's chain rule.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gradengine import MLP, data
from gradengine.optim import SGD
from gradengine.playground import Handle, serve

SRC = str(Path(__file__).resolve().parents[1] / "src")
SETUP = (
    "dataset=moons&samples=60&seed=7&test=0.25&hidden=5,4&opt=sgd&lr=0.1&momentum=0.9"
    "&batch=0&l2=0.001&engine=eager"
)


@pytest.fixture(scope="module")
def server() -> Iterator[Handle]:
    handle = serve()
    yield handle
    handle.stop()


@pytest.fixture
def page(browser: Any, server: Handle) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1300, "height": 1100}, accept_downloads=True)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert errors == []


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def python_losses(steps: int) -> tuple[list[float], MLP, list[tuple[float, float, int]]]:
    """SETUP's run written out: each step's loss, the model after, and the training points."""
    X, y = data.make_moons(60, noise=0.1, random_state=7)
    X_train, _, y_train, _ = data.train_test_split(X, y, test_size=0.25, random_state=7)
    model = MLP(2, [5, 4, 1], seed=7)
    parameters = model.parameters()
    optimizer = SGD(parameters, lr=0.1, momentum=0.9)
    found = []
    for _ in range(steps):
        hinge = [(1 + -(2 * c - 1) * model(x)).relu() for x, c in zip(X_train, y_train)]
        loss = sum(hinge) * (1.0 / len(hinge)) + 0.001 * sum(p * p for p in parameters)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        found.append(loss.data)
    train = [(a, b, c) for (a, b), c in zip(X_train, y_train)]
    return found, model, train


def open_run(page: Any, server: Handle, setup: str = SETUP) -> None:
    page.goto(f"{server.url}#{setup}")
    expect(page.get_by_label("train accuracy")).not_to_have_text("–")
    expect(page.get_by_label("step", exact=True)).to_have_text("0")


def press_step(page: Any, times: int) -> list[float]:
    """Press Step `times` times; the loss after each."""
    losses = []
    for _ in range(times):
        before = int(page.get_by_label("step", exact=True).text_content())
        page.get_by_role("button", name="Step").click()
        expect(page.get_by_label("step", exact=True)).to_have_text(str(before + 1))
        losses.append(float(page.get_by_label("loss", exact=True).get_attribute("title")))
    return losses


def test_step_gives_the_numbers_of_the_same_run_in_python(page: Any, server: Handle) -> None:
    open_run(page, server)
    shown = press_step(page, 3)
    expected, model, train = python_losses(3)
    assert shown == pytest.approx(expected, rel=1e-12)
    right = sum((model([a, b]).data > 0) == (c == 1) for a, b, c in train)
    expect(page.get_by_label("train accuracy")).to_have_text(f"{100 * right / len(train):.1f}%")
    # Reopening the URL gives the same run, step for step.
    page.reload()
    expect(page.get_by_label("step", exact=True)).to_have_text("0")
    expect(page.get_by_label("train accuracy")).not_to_have_text("–")
    assert press_step(page, 3) == shown


def test_controls_are_named_buttons_and_keys_work(page: Any, server: Handle) -> None:
    open_run(page, server)
    for name in ("Play", "Step", "Reset", "Apply setup", "Open chain rule", "Edit parameter"):
        expect(page.get_by_role("button", name=name, exact=True)).to_be_visible()
    page.locator("body").press("s")
    expect(page.get_by_label("step", exact=True)).to_have_text("1")
    page.get_by_role("button", name="Play").click()
    expect(page.get_by_label("step", exact=True)).not_to_have_text("1")
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    page.get_by_role("button", name="Reset").click()
    expect(page.get_by_label("step", exact=True)).to_have_text("0")


def hover_a_weight(page: Any) -> tuple[float, float]:
    """Move along the gap between the inputs and the first layer until a weight is under the
    pointer; its position."""
    box = page.locator("#network").bounding_box()
    for dy in range(40, int(box["height"]) - 40, 3):
        x, y = box["x"] + 110, box["y"] + dy
        page.mouse.move(x, y)
        if page.locator("#weight-info").text_content():
            return x, y
    raise AssertionError("no weight found under the pointer")


def test_hover_and_edit_a_weight_and_the_exported_script_agrees(
    page: Any, server: Handle, tmp_path: Path
) -> None:
    open_run(page, server)
    losses = press_step(page, 2)
    page.get_by_role(
        "button", name="neuron 1 of layer 1: show its output; click to set its bias"
    ).hover()
    expect(page.locator("#plane-showing")).to_have_text("showing: neuron 1 of layer 1's output")
    x, y = hover_a_weight(page)
    info = page.locator("#weight-info").text_content()
    assert info.startswith("w") and ": value " in info and ", grad " in info
    page.mouse.click(x, y)
    page.get_by_label("new value").fill("0.5")
    page.get_by_role("button", name="Set", exact=True).click()
    expect(page.locator("#weight-info")).to_contain_text("value 0.5,")
    # A point added by clicking on the plane (class 1) goes into the URL's setup.
    plane = page.locator("#plane").bounding_box()
    page.get_by_label("class 1 (blue)").check()
    page.mouse.click(plane["x"] + 5, plane["y"] + 5)
    expect(page).to_have_url(re.compile("points=-?[0-9]"))
    losses += press_step(page, 2)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export Python script").click()
    script = tmp_path / "run.py"
    download.value.save_as(script)
    done = subprocess.run(
        [sys.executable, str(script)],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert [float(line.split()[-1]) for line in done.stdout.splitlines()] == losses


def test_a_points_chain_rule_opens_in_the_step_through_view(page: Any, server: Handle) -> None:
    open_run(page, server)
    press_step(page, 1)
    page.get_by_label("x", exact=True).fill("0.5")
    page.get_by_label("y", exact=True).fill("0.25")
    page.get_by_label("class mode").select_option("hide the grads")
    page.get_by_role("button", name="Open chain rule").click()
    graph = page.locator("#graph")
    expect(page.locator("#graph-title")).to_contain_text("at step 1: (0.5, 0.25), class 0")
    expect(graph.locator(".ge-class-note")).to_contain_text("grads hidden")
    expect(graph.locator("[data-name='loss']")).to_be_attached()
    expect(graph.locator("[data-name='x1']")).to_be_attached()
    expect(graph.locator("[data-name='h1.1.w1']")).to_be_attached()
    # Class mode: at the end of the backward pass every grad reads ? until revealed.
    graph.get_by_role("button", name="to the end").click()
    loss_grad = graph.locator("[data-name='loss'] text.num.grad tspan.val")
    expect(loss_grad).to_have_text("?")
    grads = graph.locator("g.node text.num.grad tspan.val")
    assert set(grads.all_text_contents()) == {"?"}
    # One at a time (a click on its card), then all with R, which is not the page's Reset.
    graph.get_by_role("button", name="reveal the grad of loss").click()
    expect(loss_grad).to_have_text(re.compile(r"^1(\.0*)?$"))  # d loss / d loss
    assert grads.all_text_contents().count("?") == grads.count() - 1
    graph.press("R")
    expect(graph.get_by_role("button", name="hide all (R)")).to_be_visible()
    assert "?" not in grads.all_text_contents()
    expect(page.get_by_label("step", exact=True)).to_have_text("1")
    # Step: the view follows the training with the new weights.
    press_step(page, 1)
    expect(page.locator("#graph-title")).to_contain_text("at step 2:")


def test_the_neuron_hovered_is_highlighted_in_the_graph(page: Any, server: Handle) -> None:
    open_run(page, server)
    page.get_by_role("button", name="Open chain rule").click()
    graph = page.locator("#graph")
    expect(graph.locator("[data-name='score']")).to_be_attached()
    expect(graph.locator("g.node.highlight")).to_have_count(0)
    page.get_by_role(
        "button", name="neuron 3 of layer 2: show its output; click to set its bias"
    ).hover()
    expect(graph.locator("g.node.highlight")).to_have_attribute("data-name", "h2.3")
    page.get_by_role("button", name="the output: show its output; click to set its bias").hover()
    expect(graph.locator("g.node.highlight")).to_have_attribute("data-name", "score")
    # Another point opens with the last neuron hovered still highlighted.
    page.get_by_label("x", exact=True).fill("-0.5")
    page.get_by_role("button", name="Open chain rule").click()
    expect(page.locator("#graph-title")).to_contain_text("(-0.5, ")
    expect(graph.locator("g.node.highlight")).to_have_attribute("data-name", "score")


def test_clicking_a_datapoint_in_chain_mode_opens_its_graph(page: Any, server: Handle) -> None:
    open_run(page, server)
    page.get_by_label("opens that point's chain rule").check()
    plane = page.locator("#plane").bounding_box()
    page.mouse.click(plane["x"] + plane["width"] / 2, plane["y"] + plane["height"] / 2)
    expect(page.locator("#graph")).to_be_visible()
    expect(page.locator("#graph [data-name='score']")).to_be_attached()


def test_a_compiled_run_shows_its_program(page: Any, server: Handle) -> None:
    open_run(page, server, SETUP.replace("engine=eager", "engine=compiled"))
    shown = press_step(page, 2)
    assert shown == pytest.approx(python_losses(2)[0], rel=1e-9)
    page.get_by_role("button", name="Show compiled program").click()
    expect(page.locator("#program")).to_be_visible()
    assert len(page.locator("#program").text_content()) > 50


def test_a_setup_the_command_line_refuses_is_refused_with_its_message(
    page: Any, server: Handle
) -> None:
    page.goto(f"{server.url}#hidden=16,0")
    expect(page.locator("#status")).to_contain_text(
        "argument --hidden: expected comma-separated layer sizes"
    )


def test_the_model_file_loads_with_mlp_load(page: Any, server: Handle, tmp_path: Path) -> None:
    open_run(page, server)
    press_step(page, 2)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export model file").click()
    download.value.save_as(tmp_path / "model.json")
    model = MLP.load(tmp_path / "model.json")
    _, trained, _ = python_losses(2)
    assert [p.data for p in model.parameters()] == [p.data for p in trained.parameters()]


def test_the_model_file_of_a_tanh_network_holds_each_layers_activation(
    page: Any, server: Handle, tmp_path: Path
) -> None:
    open_run(page, server, SETUP + "&act=tanh,sigmoid&out=tanh&loss=mse")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export model file").click()
    download.value.save_as(tmp_path / "model.json")
    model = MLP.load(tmp_path / "model.json")
    assert model.activations == ["tanh", "sigmoid", "tanh"]
    # The lecture's network at step 0, built here: the same weights and the same outputs.
    lecture = MLP(2, [5, 4, 1], seed=7, activation=["tanh", "sigmoid", "tanh"])
    assert [p.data for p in model.parameters()] == [p.data for p in lecture.parameters()]
    for x in ([0.5, -0.25], [-1.0, 2.0]):
        assert model(x).data == lecture(x).data
        assert -1 < model(x).data < 1  # a tanh output


def test_the_setup_form_starts_a_new_run_and_writes_the_url(page: Any, server: Handle) -> None:
    open_run(page, server)
    press_step(page, 2)
    page.get_by_label("dataset").select_option("circles")
    page.get_by_label("hidden layers").fill("3")
    page.get_by_label("activations").fill("tanh")
    page.get_by_role("button", name="Apply setup").click()
    expect(page.get_by_label("step", exact=True)).to_have_text("0")
    expect(page).to_have_url(re.compile(r"#dataset=circles&.*hidden=3&act=tanh&"))
    buttons = page.locator("#neuron-buttons button")
    expect(buttons).to_have_count(4)  # three hidden neurons and the output
    press_step(page, 1)


def test_the_page_works_inside_another_sites_iframe_as_in_jupyter(
    page: Any, server: Handle, tmp_path: Path
) -> None:
    """A notebook at localhost:8888 shows the handle's iframe of 127.0.0.1: another site."""
    import functools
    import http.server
    import threading

    (tmp_path / "notebook.html").write_text(server._repr_html_(), encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    notebook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=notebook.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://localhost:{notebook.server_address[1]}/notebook.html")
        inline = page.frame_locator("iframe")
        expect(inline.get_by_label("train accuracy")).not_to_have_text("–")
        inline.get_by_role("button", name="Step").click()
        expect(inline.get_by_label("step", exact=True)).to_have_text("1")
    finally:
        notebook.shutdown()
        notebook.server_close()


def test_points_can_be_added_and_removed_from_the_keyboard(page: Any, server: Handle) -> None:
    open_run(page, server)
    page.get_by_label("x", exact=True).fill("0.25")
    page.get_by_label("y", exact=True).fill("-0.5")
    page.locator("#chain-form select[name=label]").select_option("1")
    page.get_by_role("button", name="Add this point").click()
    expect(page).to_have_url(re.compile("points=0.25:-0.5:1"))
    page.get_by_role("button", name="Remove the nearest point").click()
    expect(page).not_to_have_url(re.compile("points=0.25"))
