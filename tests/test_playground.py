"""The playground server: tokens, Host and Origin, hostile requests, sessions, and real numbers.

The numbers a run reports are checked against a training loop written out here with
gradengine's public API (the oracle), and against the exported script run as a user would.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gradengine import MLP, data
from gradengine.optim import SGD, Adam
from gradengine.playground import Handle, serve
from gradengine.playground.curve import Curve

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def server() -> Iterator[Handle]:
    handle = serve()
    yield handle
    handle.stop()


def request(
    handle: Handle,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    token: bool = True,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", handle.port, timeout=30)
    sent = {"Host": f"127.0.0.1:{handle.port}"}
    if token:
        sent["X-Playground-Token"] = handle.url.split("token=")[1]
    if body is not None:
        sent["Content-Type"] = "application/json"
    sent.update(headers or {})
    connection.request(method, path, body=body, headers=sent)
    response = connection.getresponse()
    result = response.status, dict(response.getheaders()), response.read()
    connection.close()
    return result


def api(handle: Handle, path: str, **body: Any) -> dict[str, Any]:
    status, _, content = request(handle, "POST", path, json.dumps(body).encode())
    answer: dict[str, Any] = json.loads(content)
    assert status == 200, answer
    return answer


def token_of(handle: Handle) -> str:
    return handle.url.split("token=")[1]


# -- the token, Host and Origin ------------------------------------------------------------------


def test_every_request_needs_the_token(server: Handle) -> None:
    assert request(server, "GET", "/", token=False)[0] == 403
    assert request(server, "GET", "/static/playground.js", token=False)[0] == 403
    assert request(server, "GET", "/?token=" + "0" * 48, token=False)[0] == 403
    status, _, _ = request(
        server, "POST", "/api/run", b'{"setup": ""}', headers={"X-Playground-Token": "wrong"}
    )
    assert status == 403


def test_the_tokened_page_sets_a_cookie_that_later_requests_may_use(server: Handle) -> None:
    status, headers, page = request(server, "GET", "/?token=" + token_of(server), token=False)
    assert status == 200 and b"gradengine playground" in page
    cookie = headers["Set-Cookie"].split(";")[0]
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
    status, _, script = request(
        server, "GET", "/static/playground.js", headers={"Cookie": cookie}, token=False
    )
    assert status == 200 and b"use strict" in script


@pytest.mark.parametrize(
    "host", ["evil.example:{port}", "127.0.0.1:1", "localhost", "127.0.0.1.nip.io:{port}", ""]
)
def test_a_host_other_than_its_own_is_refused(server: Handle, host: str) -> None:
    """A DNS name rebound to 127.0.0.1 arrives with its own name in Host."""
    headers = {"Host": host.format(port=server.port)}
    assert request(server, "GET", "/", headers=headers)[0] == 403


def test_localhost_is_its_own_host(server: Handle) -> None:
    assert request(server, "GET", "/", headers={"Host": f"localhost:{server.port}"})[0] == 200


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
def test_requests_from_other_origins_are_refused(server: Handle, origin: str) -> None:
    status, _, _ = request(server, "POST", "/api/run", b'{"setup": ""}', {"Origin": origin})
    assert status == 403


def test_its_own_origin_is_accepted(server: Handle) -> None:
    origin = f"http://127.0.0.1:{server.port}"
    body = b'{"setup": "hidden=2&samples=20"}'
    assert request(server, "POST", "/api/run", body, {"Origin": origin})[0] == 200


def test_it_listens_on_loopback_only(server: Handle) -> None:
    assert server._server.server_address[0] == "127.0.0.1"


# -- hostile and malformed requests --------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/../../etc/passwd", "/static/../server.py", "/static/server.py", "/api/nothing", "/%00"],
)
def test_only_its_own_files_are_served(server: Handle, path: str) -> None:
    assert request(server, "GET", path)[0] == 404


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{not json", {}, 400),
        (b"[1, 2]", {}, 400),
        (b"\xff\xfe", {}, 400),
        (b"[" * 100_000 + b"]" * 100_000, {}, 413),
        (b'{"setup": 5}', {}, 400),
        (b"{}", {"Content-Type": "text/plain"}, 415),
        (b"{}", {"Content-Length": "99999999"}, 413),
        (b"{}", {"Content-Length": "-5"}, 413),
    ],
)
def test_malformed_bodies_get_a_4xx(
    server: Handle, body: bytes, headers: dict[str, str], status: int
) -> None:
    assert request(server, "POST", "/api/run", body, headers)[0] == status
    assert request(server, "GET", "/")[0] == 200  # still serving


def test_garbage_on_the_socket_gets_a_4xx_and_the_server_keeps_running(server: Handle) -> None:
    for garbage in (
        b"\x00\x01\x02 nonsense\r\n\r\n",
        b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(garbage)
            answer = sock.recv(100)
        # A request line with no version is answered as HTTP/0.9: the body without a status line.
        assert re.match(rb"(HTTP/1\.[01] )?4\d\d ", answer), answer
    half_open = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    half_open.sendall(b"POST /api/run HTTP/1.1\r\n")  # and never finishes
    assert request(server, "GET", "/")[0] == 200
    half_open.close()


def test_bad_actions_get_a_4xx(server: Handle) -> None:
    run = api(server, "/api/run", setup="hidden=3&samples=20")["run"]
    cases = [
        ("/api/step", {"run": "no such run"}, 404),
        ("/api/step", {"run": run, "steps": 10**9}, 400),
        ("/api/step", {"run": run, "steps": "5"}, 400),
        ("/api/set", {"run": run, "index": 10**6, "value": 1.0}, 400),
        ("/api/set", {"run": run, "index": 0, "value": None}, 400),
        ("/api/point", {"run": run, "add": [1e300, 0, 1]}, 400),
        ("/api/point", {"run": run, "add": [0, 0, 7]}, 400),
        ("/api/point", {"run": run, "remove": ["train", 999]}, 400),
        ("/api/nothing", {"run": run}, 404),
    ]
    for path, body, status in cases:
        assert request(server, "POST", path, json.dumps(body).encode())[0] == status, path
    point = {"run": run, "x": 0.5, "y": 0.0, "label": 0}
    for wrong in ({"x": float("nan")}, {"y": "0"}, {"label": 2}, {"hide": "grads"}, {"x": 11}):
        body = json.dumps({**point, **wrong}).encode()
        assert request(server, "POST", "/api/graph", body)[0] == 400, wrong
    assert request(server, "GET", f"/api/graph?run={run}")[0] == 404  # a POST only


def test_sizes_the_command_line_refuses_are_refused_with_its_message(server: Handle) -> None:
    from gradengine.cli import app

    for setup, flag, text in [
        ("hidden=16,0", "--hidden", "16,0"),
        ("samples=5", "--samples", "5"),
        ("test=1.5", "--test-fraction", "1.5"),
        ("lr=-1", "--lr", "-1"),
    ]:
        status, _, content = request(
            server, "POST", "/api/run", json.dumps({"setup": setup}).encode()
        )
        message = json.loads(content)["error"]
        with pytest.raises(SystemExit):  # argparse's own message for the same text
            app.build_parser().parse_args(["train", flag, text])
        assert status == 400 and message.startswith(f"argument {flag}: expected"), message


def test_a_network_too_large_for_the_machine_is_refused(server: Handle) -> None:
    status, _, content = request(
        server,
        "POST",
        "/api/run",
        b'{"setup": "hidden=1024,1024,1024,1024,1024,1024,1024,1024,1024,1024,1024"}',
    )
    assert status == 400 and "parameters; the limit is" in json.loads(content)["error"]


# -- sessions -----------------------------------------------------------------------------------


def test_two_tabs_have_their_own_runs(server: Handle) -> None:
    first = api(server, "/api/run", setup="hidden=4&samples=40&engine=eager")
    second = api(server, "/api/run", setup="hidden=4&samples=40&engine=eager")
    assert first["run"] != second["run"]
    api(server, "/api/step", run=first["run"], steps=5)
    assert api(server, "/api/frame", run=second["run"])["step"] == 0
    assert (
        api(server, "/api/step", run=second["run"], steps=5)["loss"]
        == api(server, "/api/frame", run=first["run"])["loss"]
    )


def test_a_reset_closes_the_run_it_replaces(server: Handle) -> None:
    first = api(server, "/api/run", setup="hidden=2&samples=20")["run"]
    api(server, "/api/run", setup="hidden=2&samples=20", replaces=first)
    assert request(server, "POST", "/api/frame", json.dumps({"run": first}).encode())[0] == 404


# -- the numbers are gradengine's ----------------------------------------------------------------


def python_run(setup: dict[str, Any], steps: int) -> list[float]:
    """The run, written out with gradengine's public API: each step's loss."""
    X, y = data.make_moons(setup["samples"], noise=0.1, random_state=setup["seed"])
    X_train, _, y_train, _ = data.train_test_split(
        X, y, test_size=setup["test"], random_state=setup["seed"]
    )
    model = MLP(2, [*setup["hidden"], 1], seed=setup["seed"])
    parameters = model.parameters()
    if setup["opt"] == "sgd":
        optimizer: SGD | Adam = SGD(parameters, lr=setup["lr"], momentum=setup["momentum"])
    else:
        optimizer = Adam(parameters, lr=setup["lr"])
    rng = random.Random(setup["seed"])
    found = []
    for _ in range(steps):
        if setup["batch"]:
            chosen = rng.sample(range(len(X_train)), setup["batch"])
        else:
            chosen = list(range(len(X_train)))
        hinge = [(1 + -(2 * y_train[i] - 1) * model(X_train[i])).relu() for i in chosen]
        loss = sum(hinge) * (1.0 / len(hinge)) + setup["l2"] * sum(p * p for p in parameters)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        found.append(loss.data)
    return found


@pytest.mark.parametrize("engine", ["eager", "compiled"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_each_step_equals_the_same_run_done_in_python(
    server: Handle, engine: str, optimizer: str
) -> None:
    setup = {
        "samples": 60,
        "seed": 7,
        "test": 0.25,
        "hidden": [5, 4],
        "opt": optimizer,
        "lr": 0.1,
        "momentum": 0.9,
        "batch": 16,
        "l2": 1e-3,
    }
    text = (
        f"dataset=moons&samples=60&seed=7&test=0.25&hidden=5,4&opt={optimizer}&lr=0.1"
        f"&momentum=0.9&batch=16&l2=0.001&engine={engine}"
    )
    run = api(server, "/api/run", setup=text)["run"]
    expected = python_run(setup, 6)
    for want in expected:
        got = api(server, "/api/step", run=run, steps=1)["loss"]
        assert got == pytest.approx(want, rel=1e-12, abs=1e-14)


def test_accuracies_are_those_of_the_current_weights(server: Handle, tmp_path: Path) -> None:
    text = "samples=80&hidden=6&engine=eager&seed=3"
    run = api(server, "/api/run", setup=text)["run"]
    frame = api(server, "/api/step", run=run, steps=20)
    status, _, model = request(server, "GET", f"/api/model.json?run={run}")
    assert status == 200
    (tmp_path / "model.json").write_bytes(model)
    mlp = MLP.load(tmp_path / "model.json")
    for part, key in (("train", "train_accuracy"), ("test", "test_accuracy")):
        points = frame[part]
        right = sum((mlp([x, y]).data > 0) == (c == 1) for x, y, c in points)
        assert frame[key] == right / len(points)


def test_a_weight_edit_changes_the_network_at_once(server: Handle) -> None:
    run = api(server, "/api/run", setup="samples=40&hidden=3&engine=eager")["run"]
    before = api(server, "/api/frame", run=run)
    index = len(before["parameters"]) - 1  # the output's bias
    after = api(server, "/api/set", run=run, index=index, value=5.0)
    assert after["parameters"][index][0] == 5.0
    # b shifts every score by the same amount: 5 - b_old more, everywhere on the plane.
    shift = 5.0 - before["parameters"][index][0]
    for old, new in zip(before["output"], after["output"], strict=True):
        assert new == pytest.approx(old + shift, rel=1e-3, abs=1e-3)


def test_a_weight_edit_is_trained_from_in_both_engines_alike(server: Handle) -> None:
    """The compiled engine keeps the weights in its program's array: an edit must reach it."""
    losses = {}
    for engine in ("eager", "compiled"):
        run = api(server, "/api/run", setup=f"samples=40&hidden=3&opt=sgd&engine={engine}")["run"]
        api(server, "/api/step", run=run, steps=2)
        after = api(server, "/api/set", run=run, index=0, value=-2.5)
        assert after["parameters"][0][0] == -2.5
        frames = [api(server, "/api/step", run=run, steps=1) for _ in range(3)]
        losses[engine] = [frame["loss"] for frame in frames]
        assert frames[-1]["parameters"][0][0] != -2.5  # trained on from the edit
    assert losses["compiled"] == pytest.approx(losses["eager"], rel=1e-12)


def test_points_added_and_removed_change_the_setup(server: Handle) -> None:
    run = api(server, "/api/run", setup="samples=40&hidden=3")["run"]
    frame = api(server, "/api/frame", run=run)
    n_train, n_test = len(frame["train"]), len(frame["test"])
    frame = api(server, "/api/point", run=run, add=[0.5, 0.25, 1])
    assert frame["train"][-1] == [0.5, 0.25, 1] and "points=0.5:0.25:1" in frame["setup"]
    frame = api(server, "/api/point", run=run, remove=["test", 0])
    assert len(frame["train"]) == n_train + 1 and len(frame["test"]) == n_test - 1
    assert "removed=" in frame["setup"] and "removed=&" not in frame["setup"]
    # The new setup, opened again, has the same points.
    again = api(server, "/api/run", setup=frame["setup"])
    assert again["train"] == frame["train"] and again["test"] == frame["test"]


def test_the_exported_script_reproduces_the_losses(server: Handle, tmp_path: Path) -> None:
    text = (
        "samples=50&hidden=4,3&act=tanh,relu&out=tanh&loss=mse&opt=sgd&lr=0.05&batch=8&engine=eager"
    )
    run = api(server, "/api/run", setup=text)["run"]
    losses = [api(server, "/api/step", run=run, steps=1)["loss"] for _ in range(3)]
    api(server, "/api/set", run=run, index=0, value=0.25)
    api(server, "/api/point", run=run, add=[0.1, 0.2, 0])
    losses += [api(server, "/api/step", run=run, steps=1)["loss"] for _ in range(3)]
    status, headers, script = request(server, "GET", f"/api/export.py?run={run}")
    assert status == 200 and "attachment" in headers["Content-Disposition"]
    (tmp_path / "run.py").write_bytes(script)
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "run.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    printed = [float(line.split()[-1]) for line in done.stdout.splitlines()]
    assert printed == losses


def test_a_points_chain_rule_is_the_step_through_views_data_with_its_grads(
    server: Handle,
) -> None:
    setup = "samples=20&hidden=2&act=tanh&engine=eager&loss=mse&l2=0"
    run = api(server, "/api/run", setup=setup)["run"]
    frame = api(server, "/api/step", run=run, steps=2)
    point = {"run": run, "x": 0.5, "y": -0.25, "label": 1}
    view = api(server, "/api/graph", **point, neuron=1, hide="grad")
    assert view["title"].startswith("One point's chain rule at step 2: (0.5, -0.25), class 1")
    graph = view["graph"]
    names = [node["name"] for node in graph["nodes"]]
    for name in ("x1", "x2", "h1.1.w1", "h1.2.b", "h1.1", "h1.2", "score.w2", "score", "loss"):
        assert name in names
    # Each neuron is tagged (the page highlights the one hovered); neuron 1 is h1.2.
    assert {key: names[i] for key, i in graph["tags"].items()} == {
        "neuron-0": "h1.1",
        "neuron-1": "h1.2",
        "neuron-2": "score",
    }
    assert names[graph["highlight"]] == "h1.2"
    assert graph["hide"] == "grad" and any(node["hidden"] for node in graph["nodes"])
    # The grads at the end of the backward pass against finite differences of the same loss,
    # (tanh(w·x + b) ... - 1)², written here with the frame's weights.
    done = graph["steps"][-1]
    grads = {names[i]: g for i, g, _, _ in done["updates"]}
    weights = [value for value, _ in frame["parameters"]]

    def loss(ws: list[float]) -> float:
        hidden = [
            math.tanh(ws[3 * j] * 0.5 + ws[3 * j + 1] * -0.25 + ws[3 * j + 2]) for j in range(2)
        ]
        score = ws[6] * hidden[0] + ws[7] * hidden[1] + ws[8]
        return (score - 1.0) ** 2

    order = ["h1.1.w1", "h1.1.w2", "h1.1.b", "h1.2.w1", "h1.2.w2", "h1.2.b"]
    order += ["score.w1", "score.w2", "score.b"]
    for k, name in enumerate(order):
        h = 1e-6
        up, down = list(weights), list(weights)
        up[k] += h
        down[k] -= h
        assert grads[name] == pytest.approx((loss(up) - loss(down)) / (2 * h), rel=1e-6, abs=1e-9)
    assert grads["loss"] == 1.0


def test_the_program_text_of_a_compiled_run(server: Handle) -> None:
    run = api(server, "/api/run", setup="samples=20&hidden=2&engine=compiled")["run"]
    api(server, "/api/step", run=run, steps=1)
    status, _, text = request(server, "GET", f"/api/program?run={run}")
    assert status == 200 and b"one sample's graph replayed over the batch" in text


# -- memory stays flat ---------------------------------------------------------------------------


def test_a_curve_keeps_at_most_its_capacity_and_the_whole_run() -> None:
    curve = Curve(capacity=100)
    for step in range(1, 100_001):
        curve.add(step, math.sin(step))
    assert 50 <= len(curve.points) <= 100
    assert curve.points[0][0] == 1 and curve.points[-1][0] > 99_000


def test_the_server_keeps_a_bounded_number_of_runs(server: Handle) -> None:
    from gradengine.playground.server import MAX_RUNS

    for _ in range(MAX_RUNS + 3):
        api(server, "/api/run", setup="samples=20&hidden=2&engine=eager")
    assert len(server._server.runs) <= MAX_RUNS


# -- the command ----------------------------------------------------------------------------------


def test_the_command_prints_its_address_and_stops_on_ctrl_c_with_one_line() -> None:
    env = {**os.environ, "PYTHONPATH": SRC}
    process = subprocess.Popen(
        [sys.executable, "-m", "gradengine", "playground", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("gradengine playground: serving at http://127.0.0.1:")
        url = line.split()[-1]
        port = int(url.split(":")[2].split("/")[0])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", url.split(str(port))[1], headers={"Host": f"127.0.0.1:{port}"})
        assert connection.getresponse().status == 200
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0
    assert out.strip().splitlines()[-1] == "gradengine playground: stopped"
    assert err == ""


def test_a_port_in_use_is_an_error_without_a_traceback() -> None:
    with serve() as taken:
        env = {**os.environ, "PYTHONPATH": SRC}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "gradengine",
                "playground",
                "--no-browser",
                "--port",
                str(taken.port),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    assert done.returncode == 2
    assert done.stderr == f"gradengine playground: error: argument --port: {taken.port} is in use\n"


def test_the_benchmark_runs_on_a_tiny_size() -> None:
    """benchmarks/playground.py --quick reports every row; no speed is asserted."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "playground.py"
    done = subprocess.run(
        [sys.executable, str(script), "--quick", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert lines[1].startswith("start-up (launch to page served), seconds: min")
    for engine in ("compiled", "eager"):
        assert sum(line.startswith(engine) and "redraws/s" in line for line in lines) == 2
    assert sum("steps/s" in line and "redraws" not in line for line in lines) == 4


def test_two_tabs_playing_at_once_never_mix_their_runs(server: Handle) -> None:
    import threading

    setups = ["samples=40&hidden=4&seed=1&engine=eager", "samples=40&hidden=4&seed=2&engine=eager"]
    alone = []
    for setup in setups:
        run = api(server, "/api/run", setup=setup)["run"]
        alone.append([api(server, "/api/step", run=run, steps=1)["loss"] for _ in range(15)])
    together: list[list[float]] = [[], []]

    def play(k: int) -> None:
        run = api(server, "/api/run", setup=setups[k])["run"]
        for _ in range(15):
            together[k].append(api(server, "/api/step", run=run, steps=1)["loss"])

    threads = [threading.Thread(target=play, args=(k,)) for k in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert together == alone and alone[0] != alone[1]


def test_memory_stays_flat_over_a_long_run() -> None:
    import tracemalloc

    from gradengine.playground.run import Run
    from gradengine.playground.setup import parse_setup

    run = Run(parse_setup({"samples": "20", "hidden": "3", "engine": "compiled"}))
    for curve in run.curves.values():
        curve.capacity = 100
    tracemalloc.start()
    try:
        for _ in range(10):
            run.step(50)
            run.frame()
        settled = tracemalloc.get_traced_memory()[0]
        for _ in range(40):  # the curves fill up and halve more than once
            run.step(50)
            run.frame()
        grown = tracemalloc.get_traced_memory()[0] - settled
    finally:
        tracemalloc.stop()
    assert run.steps == 2500
    assert all(len(curve.points) <= curve.capacity for curve in run.curves.values())
    assert grown < 100_000, grown  # bytes, over 2,000 more steps and 40 frames


def test_the_handle_shows_the_page_inline_and_stops() -> None:
    handle = serve()
    page = handle._repr_html_()
    assert page.startswith("<iframe src=") and handle.url.replace("&", "&amp;") in page
    handle.stop()
    handle.stop()  # twice is fine
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", handle.port), timeout=5)


@pytest.mark.parametrize(
    ("arguments", "error"),
    [({"port": "80"}, TypeError), ({"port": -1}, TypeError), ({"token": "short"}, ValueError)],
)
def test_serve_checks_its_arguments(arguments: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        serve(**arguments)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("samples=5000", "the playground draws at most 2,000 points live, got 5,000"),
        ("hidden=70,70", "makes an MLP of 5,251 parameters; the playground draws networks of"),
    ],
)
def test_sizes_too_large_to_draw_live_are_refused(server: Handle, setup: str, message: str) -> None:
    status, _, content = request(server, "POST", "/api/run", json.dumps({"setup": setup}).encode())
    assert status == 400 and message in json.loads(content)["error"]


def test_a_run_of_your_own_points_starts_empty_and_asks_for_points(server: Handle) -> None:
    frame = api(server, "/api/run", setup="dataset=own&hidden=3&seed=5&engine=eager")
    run = frame["run"]
    assert frame["train"] == [] and frame["test"] == [] and frame["train_accuracy"] is None
    frame = api(server, "/api/step", run=run, steps=1)
    assert frame["step"] == 0 and "no training points" in frame["problem"]
    api(server, "/api/point", run=run, add=[0.5, 0.5, 1])
    frame = api(server, "/api/point", run=run, add=[-0.5, -0.5, 0])
    assert frame["setup"].endswith("points=0.5:0.5:1;-0.5:-0.5:0&removed=")
    frame = api(server, "/api/step", run=run, steps=3)
    assert frame["step"] == 3 and frame["problem"] is None


def test_a_setup_reads_back_from_its_url_text() -> None:
    from urllib.parse import parse_qsl

    from gradengine.playground.setup import Setup, parse_setup

    setup = Setup(
        dataset="spiral",
        samples=123,
        noise=0.07,
        test_fraction=0.3,
        seed=99,
        hidden=(5, 3),
        activations=("tanh", "sigmoid"),
        output="tanh",
        loss="mse",
        optimizer="sgd",
        momentum=0.5,
        lr=0.01,
        batch=16,
        l2=0.0,
        engine="eager",
        added=((0.1, -0.2, 1), (1e-3, 2.5, 0)),
        removed=(3, 17),
    )
    assert parse_setup(dict(parse_qsl(setup.query()))) == setup
    assert parse_setup({}) == Setup()


def test_another_site_may_open_the_page_but_not_call_it(server: Handle) -> None:
    """A notebook's iframe opens the page (a navigation); a script elsewhere gets a 403."""
    navigate = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    assert request(server, "GET", "/", headers=navigate)[0] == 200
    call = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}
    assert request(server, "GET", "/static/playground.js", headers=call)[0] == 403
    body = b'{"setup": "hidden=2&samples=20"}'
    assert request(server, "POST", "/api/run", body, {**call, "Sec-Fetch-Mode": "cors"})[0] == 403


def test_the_server_does_not_depend_on_the_command_line() -> None:
    """The playground and the command line both read their settings from gradengine.run_settings;
    the server imports nothing of gradengine.cli (the command imports the server, not back)."""
    code = (
        "import sys, gradengine.playground.server; "
        "print(sorted(m for m in sys.modules if m.startswith('gradengine.cli')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "[]"


def test_the_page_names_its_files_with_the_token(server: Handle) -> None:
    """Inside another site's iframe the page's cookie is not sent with its script and style."""
    _, _, page = request(server, "GET", "/")
    token = token_of(server)
    files = ("playground.js", "playground.css", "page.js", "page.css")
    for path in (f"/static/{name}" for name in files):
        assert f'"{path}?token={token}"'.encode() in page


def test_the_chain_rule_is_drawn_by_the_step_through_views_own_files(server: Handle) -> None:
    status, headers, script = request(server, "GET", "/static/page.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert b"const GradengineGraph" in script
    status, headers, style = request(server, "GET", "/static/page.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    assert b".ge-view" in style


@pytest.mark.parametrize(
    "setup",
    [
        "dataset=circles&loss=bce&opt=adam",
        "dataset=spiral&act=sigmoid&batch=7",
        "dataset=xor&out=tanh&loss=mse&l2=0",
        "dataset=blobs&noise=0.3&removed=0,5",
        "dataset=own&points=0.5:0.5:1;-0.5:-0.5:0;0.2:-0.1:1",
    ],
)
def test_every_dataset_and_loss_exports_a_script_that_reproduces_it(
    server: Handle, tmp_path: Path, setup: str
) -> None:
    run = api(server, "/api/run", setup=f"{setup}&samples=30&hidden=3&engine=eager")["run"]
    losses = [api(server, "/api/step", run=run, steps=1)["loss"] for _ in range(3)]
    _, _, script = request(server, "GET", f"/api/export.py?run={run}")
    (tmp_path / "run.py").write_bytes(script)
    done = subprocess.run(
        [sys.executable, "run.py", "model.json"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert [float(line.split()[-1]) for line in done.stdout.splitlines()] == losses
    assert done.returncode == 0, done.stderr
    saved = MLP.load(tmp_path / "model.json")  # a tanh output too: the file has each layer's
    assert len(saved.parameters()) == 3 * 3 + 4  # 2-3-1: (2 + 1) 3 + (3 + 1) 1
    assert saved.activations[-1] == ("tanh" if "out=tanh" in setup else "linear")
