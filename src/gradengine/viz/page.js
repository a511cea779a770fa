"use strict";
// Draws GRAPH (nodes laid out in Python) as SVG and replays its steps: the forward pass computes
// each value, the backward pass hands each node's grad to its inputs. All text comes from Python,
// and so do the positions and the edges' routes (viz/layout.py keeps every edge clear of boxes).
(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const G = GRAPH;
  const W = G.card.width, H = G.card.height, OP_H = G.op.height, OP_MARGIN = G.op.margin;
  const svg = document.getElementById("graph");
  const canvas = document.getElementById("canvas");

  // Zoom and pan: the SVG fills the canvas and its viewBox is the part of the drawing in view,
  // `scale` screen pixels per drawing unit from the drawing point (left, top) at the corner.
  const MIN_SCALE = 0.002, MAX_SCALE = 4, FIT_MAX = 1.25, STEP_ZOOM = 1.25;
  const camera = { scale: 1, left: 0, top: 0, moved: false };
  function size() {
    const box = canvas.getBoundingClientRect();
    return { width: Math.max(1, box.width), height: Math.max(1, box.height) };
  }
  function show() {
    const { width, height } = size();
    svg.setAttribute("viewBox", `${camera.left} ${camera.top} ${width / camera.scale} ${height / camera.scale}`);
    svg.dataset.scale = String(camera.scale);
  }
  function fit() {
    const { width, height } = size();
    camera.scale = Math.max(MIN_SCALE, Math.min(FIT_MAX, width / G.width, height / G.height));
    camera.left = (G.width - width / camera.scale) / 2;
    camera.top = (G.height - height / camera.scale) / 2;
    camera.moved = false;
    show();
  }
  // Zoom by `factor`, keeping the drawing point under the screen point (sx, sy) where it is.
  function zoom(factor, sx, sy) {
    const { width, height } = size();
    if (sx === undefined) { sx = width / 2; sy = height / 2; }
    const scale = Math.max(MIN_SCALE, Math.min(MAX_SCALE, camera.scale * factor));
    camera.left += sx / camera.scale - sx / scale;
    camera.top += sy / camera.scale - sy / scale;
    camera.scale = scale;
    camera.moved = true;
    show();
  }
  // Bring the box (x, y, w, h) into view, centring it, when any part of it is outside.
  function follow(x, y, w, h) {
    const { width, height } = size();
    const right = camera.left + width / camera.scale, bottom = camera.top + height / camera.scale;
    if (x >= camera.left && y >= camera.top && x + w <= right && y + h <= bottom) return;
    camera.left = x + w / 2 - width / camera.scale / 2;
    camera.top = y + h / 2 - height / camera.scale / 2;
    show();
  }
  // The step panel sits beside the graph or below it, whichever shows the graph larger: a wide,
  // flat graph reads better across the whole window, with the explanation underneath.
  const SIDE_PANEL = 360, BOTTOM_PANEL = 230;
  function arrange() {
    const header = document.querySelector("header").getBoundingClientRect().height;
    const width = window.innerWidth, height = window.innerHeight - header;
    const side = Math.min((width - SIDE_PANEL) / G.width, height / G.height);
    const below = Math.min(width / G.width, (height - BOTTOM_PANEL) / G.height);
    document.body.classList.toggle("panel-below", below > side && height - BOTTOM_PANEL > 240);
  }
  arrange();
  fit();
  window.addEventListener("resize", () => {
    arrange();
    if (camera.moved) show();
    else fit();
  });
  canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = canvas.getBoundingClientRect();
    zoom(Math.exp(-event.deltaY * 0.0015), event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });
  let drag = null;
  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || event.target.closest("button")) return;
    drag = { x: event.clientX, y: event.clientY, left: camera.left, top: camera.top };
    canvas.setPointerCapture(event.pointerId);
    canvas.classList.add("dragging");
  });
  canvas.addEventListener("pointermove", (event) => {
    if (drag === null) return;
    camera.left = drag.left - (event.clientX - drag.x) / camera.scale;
    camera.top = drag.top - (event.clientY - drag.y) / camera.scale;
    camera.moved = true;
    show();
  });
  const endDrag = () => { drag = null; canvas.classList.remove("dragging"); };
  canvas.addEventListener("pointerup", endDrag);
  canvas.addEventListener("pointercancel", endDrag);

  function make(tag, attrs, parent, text) {
    const element = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, value);
    if (text !== undefined) element.textContent = text;
    parent.appendChild(element);
    return element;
  }
  // A route from Python: points 2j -> 2j+1 joined by a curve, 2j+1 -> 2j+2 by a straight line.
  function routePath(points) {
    let d = `M${points[0][0]},${points[0][1]}`;
    for (let j = 1; j < points.length; j++) {
      const [sx, sy] = points[j - 1], [ex, ey] = points[j];
      if (j % 2 === 1) {
        const mx = (sx + ex) / 2;
        d += ` C${mx},${sy} ${mx},${ey} ${ex},${ey}`;
      } else {
        d += ` L${ex},${ey}`;
      }
    }
    return d;
  }
  // Squeeze a text that would overflow its card (a long number) to the card's width.
  function fitText(text, room) {
    text.removeAttribute("textLength");
    text.removeAttribute("lengthAdjust");
    if (text.getComputedTextLength() > room) {
      text.setAttribute("textLength", room);
      text.setAttribute("lengthAdjust", "spacingAndGlyphs");
    }
  }

  const edgeLayer = make("g", {}, svg), opLayer = make("g", {}, svg), nodeLayer = make("g", {}, svg);
  const nodes = G.nodes.map((node, i) => {
    const group = make("g", { class: node.parents.length ? "node" : "node leaf", id: `node-${i}`,
                              "data-name": node.name }, nodeLayer);
    make("rect", { x: node.x, y: node.y, width: W, height: H, rx: 8 }, group);
    const nameClass = node.labelled ? "name" : node.constant ? "name constant" : "name auto";
    fitText(make("text", { class: nameClass, x: node.x + 10, y: node.y + 20 }, group, node.name),
            W - 20);
    const row = (cls, key, y) => {
      const text = make("text", { class: `num ${cls}`, x: node.x + 10, y: node.y + y }, group);
      make("tspan", { class: "key" }, text, key);
      return make("tspan", { class: "val" }, text);
    };
    const card = { group, data: row("data", "data ", 40), grad: row("grad", "grad ", 58),
                   edges: [], op: null };
    card.gradRow = card.grad.parentNode;
    if (node.parents.length) {
      const right = node.x - OP_MARGIN, left = right - node.opWidth, cy = node.y + H / 2;
      card.op = make("g", { class: "op" }, opLayer);
      make("rect", { x: left, y: cy - OP_H / 2, width: node.opWidth, height: OP_H, rx: OP_H / 2 },
           card.op);
      make("text", { x: (left + right) / 2, y: cy }, card.op, node.symbol);
      node.routes.forEach((points, k) => {
        card.edges.push(make("path", { class: "edge", d: routePath(points),
                                       "data-from": node.parents[k], "data-to": i }, edgeLayer));
      });
      card.edges.push(make("path", { class: "edge", d: `M${right},${cy} L${node.x},${cy}`,
                                     "data-to": i }, edgeLayer));
    }
    return card;
  });

  const steps = G.steps;
  const body = document.body;
  const scrubber = document.getElementById("scrubber");
  const playButton = document.getElementById("play");
  scrubber.max = steps.length - 1;
  let current = 0, timer = null;

  function stateAt(k) {
    const shown = G.nodes.map((node) => node.parents.length === 0);
    const grad = G.nodes.map(() => null);
    for (let s = 0; s <= k; s++) {
      const step = steps[s];
      if (step.kind === "forward") shown[step.node] = true;
      if (step.kind === "backward" || step.kind === "done") shown.fill(true);
      if (step.kind === "backward") {
        grad[step.node] = { value: step.grad, text: step.gradText, final: true };
      }
      for (const [p, value, text, final] of step.updates) grad[p] = { value, text, final };
    }
    return { shown, grad };
  }

  function render(k) {
    current = Math.max(0, Math.min(k, steps.length - 1));
    const step = steps[current];
    const { shown, grad } = stateAt(current);
    body.classList.toggle("forward", step.kind === "forward" || step.kind === "start");
    body.classList.toggle("backward", step.kind === "backward" || step.kind === "done");
    const involved = new Set(step.node >= 0 ? G.nodes[step.node].parents : []);
    G.nodes.forEach((node, i) => {
      const view = nodes[i];
      view.group.classList.toggle("current", i === step.node);
      view.group.classList.toggle("involved", involved.has(i));
      view.group.classList.toggle("pending", !shown[i]);
      view.data.textContent = shown[i] ? node.dataText : "?";
      fitText(view.data.parentNode, W - 20);
      const g = grad[i];
      view.grad.textContent = g === null ? "\u2014" : g.text;
      fitText(view.gradRow, W - 20);
      view.gradRow.classList.toggle("none", g === null);
      view.gradRow.classList.toggle("partial", g !== null && !g.final);
      if (g === null) view.group.removeAttribute("data-grad");
      else view.group.setAttribute("data-grad", String(g.value));
      const active = i === step.node ? (step.kind === "forward" ? "fwd" : "bwd") : "";
      for (const edge of view.edges) edge.setAttribute("class", active ? `edge ${active}` : "edge");
      if (view.op) view.op.setAttribute("class", active ? `op ${active}` : "op");
    });
    document.getElementById("phase").textContent = step.phase;
    document.getElementById("counter").textContent = `step ${current} of ${steps.length - 1}`;
    document.getElementById("step-title").textContent = step.title;
    const text = document.getElementById("step-text");
    text.replaceChildren(...step.lines.map((line, j) => {
      const p = document.createElement("p");
      p.textContent = line.trim();
      if (j === 0 && step.kind !== "done") p.className = "main";
      else if (line.includes(" receives ") && line.includes(": total ")) p.className = "sum";
      return p;
    }));
    scrubber.value = current;
    body.dataset.step = String(current);
    document.getElementById("first").disabled = current === 0;
    document.getElementById("prev").disabled = current === 0;
    document.getElementById("next").disabled = current === steps.length - 1;
    document.getElementById("last").disabled = current === steps.length - 1;
    if (step.node >= 0) {
      const node = G.nodes[step.node];
      const left = node.parents.length ? node.x - OP_MARGIN - node.opWidth : node.x;
      follow(left, node.y, node.x + W - left, H);
    }
  }

  function pause() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    playButton.textContent = "\u25B6 play";
  }
  // One step every BEAT / speed milliseconds; the speed menu changes it, even while playing.
  const BEAT = 900;
  const speedMenu = document.getElementById("speed");
  const interval = () => BEAT / Number(speedMenu.value);
  function tick() {
    if (current >= steps.length - 1) pause();
    else render(current + 1);
  }
  function play() {
    if (current === steps.length - 1) render(0);
    playButton.textContent = "\u275A\u275A pause";
    timer = setInterval(tick, interval());
  }
  function setSpeed() {
    body.dataset.interval = String(interval());
    if (timer !== null) {
      clearInterval(timer);
      timer = setInterval(tick, interval());
    }
  }
  speedMenu.addEventListener("change", () => { setSpeed(); speedMenu.blur(); });
  function changeSpeed(by) {
    const k = Math.max(0, Math.min(speedMenu.options.length - 1, speedMenu.selectedIndex + by));
    speedMenu.selectedIndex = k;
    setSpeed();
  }
  setSpeed();
  const toggle = () => (timer === null ? play() : pause());
  const go = (k) => { pause(); render(k); };

  const buttons = {
    first: () => go(0), prev: () => go(current - 1), next: () => go(current + 1),
    last: () => go(steps.length - 1), play: toggle,
    "zoom-in": () => zoom(STEP_ZOOM), "zoom-out": () => zoom(1 / STEP_ZOOM), "zoom-fit": fit,
  };
  for (const [id, action] of Object.entries(buttons)) {
    const button = document.getElementById(id);
    button.addEventListener("click", () => { action(); button.blur(); });
  }
  scrubber.addEventListener("input", () => go(Number(scrubber.value)));
  document.addEventListener("keydown", (event) => {
    const keys = {
      ArrowRight: () => go(current + 1), ArrowDown: () => go(current + 1),
      ArrowLeft: () => go(current - 1), ArrowUp: () => go(current - 1),
      Home: () => go(0), End: () => go(steps.length - 1), " ": toggle,
      "+": () => zoom(STEP_ZOOM), "=": () => zoom(STEP_ZOOM), "-": () => zoom(1 / STEP_ZOOM),
      "0": fit, "[": () => changeSpeed(-1), "]": () => changeSpeed(1),
    };
    const action = keys[event.key];
    if (action && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      action();
    }
  });
  render(0);
})();
