"""The playground's speed as the page sees it: optimizer steps and redraws per second, and start-up.

    python benchmarks/playground.py            # moons 2-16-16-1, 200 points, 5 rounds
    python benchmarks/playground.py --quick    # a tiny run, to check that the script works

Each round runs one fresh interpreter per engine (compiled, eager), the engines taking turns so
that a slow spell of a shared machine falls on both. The interpreter starts the server, sets up
the run over HTTP as the page does, and plays it as the page does: one request asks for k steps
and gets back the frame the page redraws from (heatmap, every neuron's map, weights, curves).
At k steps per redraw it reports redraws per second and steps per second (k times as many).
Start-up is the time from launching `gradengine playground` to its first page served.
With --browser (Playwright and /usr/bin/chromium), each round also plays the real page for a few
seconds at each speed and counts the steps it shows: redraws per second as a user sees them.
Prints min, median and mean over the rounds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

CHILD = """
import http.client, json, sys, time
sys.path.insert(0, {src!r})
from gradengine.playground import serve
handle = serve()
token = handle.url.split("token=")[1]
def post(path, body):
    c = http.client.HTTPConnection("127.0.0.1", handle.port)
    c.request("POST", path, json.dumps(body), {{"Host": f"127.0.0.1:{{handle.port}}",
              "X-Playground-Token": token, "Content-Type": "application/json"}})
    r = c.getresponse(); data = r.read(); c.close()
    assert r.status == 200, data
    return json.loads(data)
run = post("/api/run", {{"setup": {setup!r}}})["run"]
post("/api/step", {{"run": run, "steps": 1}})  # the compiled engine records its program here
result = {{}}
for k in {speeds}:
    start = time.perf_counter()
    for _ in range({requests}):
        post("/api/step", {{"run": run, "steps": k, "focus": 3}})
    seconds = time.perf_counter() - start
    result[k] = {requests} / seconds
handle.stop()
print(json.dumps(result))
"""


def play(engine: str, setup: str, speeds: list[int], requests: int) -> dict[int, float]:
    """Redraws per second at each speed (steps per redraw), in a fresh interpreter."""
    code = CHILD.format(
        src=str(SRC), setup=f"{setup}&engine={engine}", speeds=speeds, requests=requests
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {engine} run failed:\n{done.stderr}")
    return {int(k): v for k, v in json.loads(done.stdout).items()}


def start_up() -> float:
    """Seconds from launching `gradengine playground` to its page served."""
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gradengine", "playground", "--no-browser"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        port = int(url.split(":")[2].split("/")[0])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", url.split(str(port), 1)[1], headers={"Host": f"127.0.0.1:{port}"})
        assert connection.getresponse().status == 200
        return time.perf_counter() - started
    finally:
        process.terminate()
        process.wait()


BROWSER_CHILD = """
import json, sys, time
sys.path.insert(0, {src!r})
from playwright.sync_api import expect, sync_playwright
from gradengine.playground import serve
handle = serve()
result = {{}}
with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync"])
    page = browser.new_page(viewport={{"width": 1300, "height": 1000}})
    page.goto(handle.url + "#" + {setup!r})
    expect(page.get_by_label("train accuracy")).not_to_have_text("\u2013")
    step = page.get_by_label("step", exact=True)
    for k in {speeds}:
        page.get_by_label("speed").select_option(str(k))
        page.get_by_role("button", name="Play").click()
        time.sleep(1.0)  # the compiled engine records its program at the first step
        start_steps, start = int(step.text_content()), time.perf_counter()
        time.sleep({seconds})
        steps = int(step.text_content()) - start_steps
        seconds = time.perf_counter() - start
        page.get_by_role("button", name="Pause").click()
        result[k] = steps / k / seconds
    browser.close()
handle.stop()
print(json.dumps(result))
"""


def play_in_browser(engine: str, setup: str, speeds: list[int], seconds: float) -> dict[int, float]:
    """Redraws per second of the real page at each speed, in a fresh interpreter."""
    code = BROWSER_CHILD.format(
        src=str(SRC), setup=f"{setup}&engine={engine}", speeds=speeds, seconds=seconds
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {engine} page failed:\n{done.stderr}")
    return {int(k): float(v) for k, v in json.loads(done.stdout).items()}


def summary(values: list[float], digits: int = 1) -> str:
    """min, median and mean of values."""
    low, middle, mean = min(values), statistics.median(values), statistics.fmean(values)
    return f"min {low:7.{digits}f}  median {middle:7.{digits}f}  mean {mean:7.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a tiny run (for the tests)")
    parser.add_argument(
        "--browser", action="store_true", help="also play the real page in Chromium (Playwright)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        setup, speeds, requests = "samples=20&hidden=3", [1, 5], 3
    else:
        setup, speeds, requests = "dataset=moons&samples=200&hidden=16,16", [1, 2, 5, 25], 40
    print(f"playground: {setup}, {requests} requests per speed, {args.rounds} rounds")
    found: dict[tuple[str, int], list[float]] = {}
    starts = []
    seen: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.rounds):
        starts.append(start_up())
        for engine in ("compiled", "eager"):
            for k, rate in play(engine, setup, speeds, requests).items():
                found.setdefault((engine, k), []).append(rate)
            if args.browser:
                for k, rate in play_in_browser(
                    engine, setup, speeds, 1 if args.quick else 4
                ).items():
                    seen.setdefault((engine, k), []).append(rate)
    print(f"start-up (launch to page served), seconds: {summary(starts, 2)}")
    for (engine, k), rates in sorted(found.items()):
        print(f"{engine:8} {k:3} steps/redraw  redraws/s {summary(rates)}")
        print(f"{'':8} {'':3}               steps/s   {summary([k * r for r in rates])}")
    if seen:
        print("the page in Chromium (redraws the page made, steps it showed):")
    for (engine, k), rates in sorted(seen.items()):
        print(f"{engine:8} {k:3} steps/redraw  page redraws/s {summary(rates)}")
        print(f"{'':8} {'':3}               page steps/s   {summary([k * r for r in rates])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
