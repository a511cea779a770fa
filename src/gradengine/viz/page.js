"use strict";
// The step-through view: draws a graph laid out in Python (viz/html.py's payload) as SVG and
// replays its steps: the forward pass computes each value, the backward pass hands each node's
// grad to its inputs. All text comes from Python, and so do the positions and the edges' routes
// (viz/layout.py keeps every edge clear of boxes).
//
//   const view = GradengineGraph.mount(element, payload, { keys: "focus" });
//   view.update(payload)    the same graph at new numbers (keeps the step, zoom, reveals and
//                           highlight, unless the payload names a highlight of its own)
//   view.highlight(k)       ring node k (a position, or a name of payload.tags); null clears;
//                           view.highlight(k, { show: true }) also zooms to it
//   view.reveal(k)          class mode: show node k's hidden number; view.revealAll(true|false)
//   view.go(step)           show a step (0 = the graph, the last = every grad)
//   view.destroy()          remove the view and its listeners
//
// keys: "document" (a page of its own: keys work anywhere) or "focus" (the default: only while
// the focus is inside the element, so a page's own shortcuts keep working). The controls'
// names (rewind the pass, previous, animate the pass, next, to the end, ...) avoid the words
// play, pause, step and reset, which a page around the view may use for its own buttons.
const GradengineGraph = (() => {
const SVG_NS = "http://www.w3.org/2000/svg";
const MARKUP = `
  <section class="ge-canvas" aria-label="computation graph">
    <svg class="ge-graph" xmlns="http://www.w3.org/2000/svg"></svg>
    <div class="ge-zoom" role="group" aria-label="zoom">
      <button class="ge-zoom-in" title="zoom in (+)" aria-label="zoom in">+</button>
      <button class="ge-zoom-out" title="zoom out (&#x2212;)" aria-label="zoom out">&#x2212;</button>
      <button class="ge-zoom-fit" title="fit the whole graph (0)" aria-label="fit the whole graph">fit</button>
    </div>
  </section>
  <aside class="ge-panel">
    <div class="ge-controls">
      <button class="ge-first" title="first step (Home)" aria-label="rewind the pass">|&#x25C0;</button>
      <button class="ge-prev" title="previous step (&#x2190;)" aria-label="previous">&#x25C0;</button>
      <button class="ge-play" title="play / pause the steps (space)" aria-label="animate the pass">&#x25B6; play</button>
      <button class="ge-next" title="next step (&#x2192;)" aria-label="next">&#x25B6;</button>
      <button class="ge-last" title="last step (End)" aria-label="to the end">&#x25B6;|</button>
    </div>
    <div class="ge-timeline">
      <input class="ge-scrubber" type="range" min="0" value="0" aria-label="position in the pass">
      <label class="ge-speed-label">speed
        <select class="ge-speed" aria-label="animation speed">
          <option value="0.25">&#xBC;&#xD7;</option>
          <option value="0.5">&#xBD;&#xD7;</option>
          <option value="1" selected>1&#xD7;</option>
          <option value="2">2&#xD7;</option>
          <option value="4">4&#xD7;</option>
        </select>
      </label>
    </div>
    <div class="ge-class" hidden>
      <button class="ge-reveal" title="reveal or hide every hidden number (R)">reveal all</button>
      <span class="ge-class-note"></span>
    </div>
    <div class="ge-progress"><span class="ge-phase"></span><span class="ge-counter"></span></div>
    <h2 class="ge-step-title"></h2>
    <div class="ge-step-text" aria-live="polite"></div>
    <footer class="ge-help">
      <p><kbd>&#x2190;</kbd> <kbd>&#x2192;</kbd> step &middot; <kbd>space</kbd> play &middot; <kbd>[</kbd> <kbd>]</kbd> speed &middot; <kbd>Home</kbd> <kbd>End</kbd></p>
      <p><kbd>+</kbd> <kbd>&#x2212;</kbd> or the wheel zoom &middot; <kbd>0</kbd> fits &middot; drag to pan</p>
      <p class="ge-legend"><span class="ge-swatch fwd"></span>forward: computing data
        <span class="ge-swatch bwd"></span>backward: passing grad</p>
      <p>A grad in <i>italics</i> is still adding up: more paths will reach it.</p>
    </footer>
  </aside>`;

function mount(root, payload, options = {}) {
  let G = payload;
  root.classList.add("ge-view");
  if (!root.querySelector(".ge-canvas")) root.innerHTML = MARKUP;
  const part = (name) => root.querySelector(`.ge-${name}`);
  const svg = part("graph");
  const canvas = part("canvas");
  const listeners = [];
  const listen = (target, type, handler, opts) => {
    target.addEventListener(type, handler, opts);
    listeners.push(() => target.removeEventListener(type, handler, opts));
  };
  let W = G.card.width, H = G.card.height, OP_H = G.op.height, OP_MARGIN = G.op.margin;

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
    const box = root.getBoundingClientRect();
    const width = box.width, height = box.height;
    const side = Math.min((width - SIDE_PANEL) / G.width, height / G.height);
    const below = Math.min(width / G.width, (height - BOTTOM_PANEL) / G.height);
    root.classList.toggle("panel-below", below > side && height - BOTTOM_PANEL > 240);
  }
  const resized = () => {
    arrange();
    if (camera.moved) show();
    else fit();
  };
  if (typeof ResizeObserver === "function") {
    const observer = new ResizeObserver(resized);
    observer.observe(root);
    listeners.push(() => observer.disconnect());
  } else {
    listen(window, "resize", resized);
  }
  listen(canvas, "wheel", (event) => {
    event.preventDefault();
    const box = canvas.getBoundingClientRect();
    zoom(Math.exp(-event.deltaY * 0.0015), event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });
  // A press that does not move is a click: on a value whose number is hidden, it reveals it.
  let drag = null;
  listen(canvas, "pointerdown", (event) => {
    if (event.button !== 0 || event.target.closest("button")) return;
    const card = event.target.closest("g.node");
    drag = { x: event.clientX, y: event.clientY, left: camera.left, top: camera.top,
             card: card ? Number(card.dataset.index) : -1, moved: false };
    canvas.setPointerCapture(event.pointerId);
    canvas.classList.add("dragging");
  });
  listen(canvas, "pointermove", (event) => {
    if (drag === null) return;
    if (Math.abs(event.clientX - drag.x) + Math.abs(event.clientY - drag.y) > 4) drag.moved = true;
    if (!drag.moved) return;
    camera.left = drag.left - (event.clientX - drag.x) / camera.scale;
    camera.top = drag.top - (event.clientY - drag.y) / camera.scale;
    camera.moved = true;
    show();
  });
  const endDrag = () => { drag = null; canvas.classList.remove("dragging"); };
  listen(canvas, "pointerup", () => {
    if (drag !== null && !drag.moved && drag.card >= 0) toggleReveal(drag.card);
    endDrag();
  });
  listen(canvas, "pointercancel", endDrag);

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

  // Class mode: the numbers G.hide names ("grad" or "data") show as ? until revealed.
  let revealed = new Set();
  let highlighted = null;
  let nodes = [];
  function draw() {
    svg.replaceChildren();
    W = G.card.width; H = G.card.height; OP_H = G.op.height; OP_MARGIN = G.op.margin;
    const edgeLayer = make("g", {}, svg), opLayer = make("g", {}, svg);
    const nodeLayer = make("g", {}, svg);
    nodes = G.nodes.map((node, i) => {
      const group = make("g", { class: node.parents.length ? "node" : "node leaf", id: `node-${i}`,
                                "data-name": node.name, "data-index": i }, nodeLayer);
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
      card.dataRow = card.data.parentNode;
      if (node.hidden) {
        group.classList.add("askable");
        group.setAttribute("tabindex", "0");
        group.setAttribute("role", "button");
      }
      if (node.parents.length) {
        const right = node.x - OP_MARGIN, left = right - node.opWidth, cy = node.y + H / 2;
        card.op = make("g", { class: "op" }, opLayer);
        make("rect", { x: left, y: cy - OP_H / 2, width: node.opWidth, height: OP_H,
                       rx: OP_H / 2 }, card.op);
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
  }

  const scrubber = part("scrubber");
  const playButton = part("play");
  let steps = G.steps;
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
  const asked = (i) => G.nodes[i].hidden && !revealed.has(i);
  // A line of the panel: a string, or parts (text, and [node, number] for a hidden number).
  function lineElement(line, j, step) {
    const p = document.createElement("p");
    const parts = typeof line === "string" ? [line] : line;
    parts.forEach((piece, k) => {
      if (typeof piece === "string") {
        p.append(k === 0 ? piece.replace(/^\s+/, "") : piece);
      } else {
        const span = document.createElement("span");
        const hidden = asked(piece[0]);
        span.className = hidden ? "ask" : "told";
        span.textContent = hidden ? "?" : piece[1];
        p.append(span);
      }
    });
    const text = parts.map((piece) => (typeof piece === "string" ? piece : piece[1])).join("");
    if (j === 0 && step.kind !== "done") p.className = "main";
    else if (text.includes(" receives ") && text.includes(": total ")) p.className = "sum";
    return p;
  }

  function render(k) {
    current = Math.max(0, Math.min(k, steps.length - 1));
    const step = steps[current];
    const { shown, grad } = stateAt(current);
    root.classList.toggle("forward", step.kind === "forward" || step.kind === "start");
    root.classList.toggle("backward", step.kind === "backward" || step.kind === "done");
    const involved = new Set(step.node >= 0 ? G.nodes[step.node].parents : []);
    G.nodes.forEach((node, i) => {
      const view = nodes[i];
      const ask = asked(i);
      view.group.classList.toggle("current", i === step.node);
      view.group.classList.toggle("involved", involved.has(i));
      view.group.classList.toggle("pending", !shown[i]);
      view.group.classList.toggle("highlight", i === highlighted);
      view.group.classList.toggle("asked", ask);
      const askData = ask && G.hide === "data" && shown[i];
      view.data.textContent = askData ? "?" : shown[i] ? node.dataText : "?";
      view.dataRow.classList.toggle("ask", askData);
      fitText(view.dataRow, W - 20);
      const g = grad[i];
      const askGrad = ask && G.hide === "grad" && g !== null;
      view.grad.textContent = g === null ? "\u2014" : askGrad ? "?" : g.text;
      fitText(view.gradRow, W - 20);
      view.gradRow.classList.toggle("none", g === null);
      view.gradRow.classList.toggle("partial", g !== null && !g.final && !askGrad);
      view.gradRow.classList.toggle("ask", askGrad);
      if (g === null || askGrad) view.group.removeAttribute("data-grad");
      else view.group.setAttribute("data-grad", String(g.value));
      if (node.hidden) {
        view.group.setAttribute("aria-label", ask ? `reveal the ${G.hide} of ${node.name}`
                                                  : `hide the ${G.hide} of ${node.name}`);
      }
      const active = i === step.node ? (step.kind === "forward" ? "fwd" : "bwd") : "";
      for (const edge of view.edges) edge.setAttribute("class", active ? `edge ${active}` : "edge");
      if (view.op) {
        const cls = active ? `op ${active}` : "op";
        view.op.setAttribute("class", i === highlighted ? `${cls} highlight` : cls);
      }
    });
    part("phase").textContent = step.phase;
    part("counter").textContent = `step ${current} of ${steps.length - 1}`;
    part("step-title").textContent = step.title;
    part("step-text").replaceChildren(...step.lines.map((line, j) => lineElement(line, j, step)));
    scrubber.max = steps.length - 1;
    scrubber.value = current;
    root.dataset.step = String(current);
    root.dataset.revealed = String(revealed.size);
    part("first").disabled = current === 0;
    part("prev").disabled = current === 0;
    part("next").disabled = current === steps.length - 1;
    part("last").disabled = current === steps.length - 1;
    const hiddenCount = G.nodes.filter((node) => node.hidden).length;
    part("class").hidden = !G.hide;
    if (G.hide) {
      const all = revealed.size >= hiddenCount;
      part("reveal").textContent = all ? "hide all (R)" : "reveal all (R)";
      part("class-note").textContent =
        `${G.hide === "grad" ? "grads" : "computed data"} hidden: click a ? to reveal it`;
    }
  }
  function followStep() {
    const step = steps[current];
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
  const speedMenu = part("speed");
  const interval = () => BEAT / Number(speedMenu.value);
  function tick() {
    if (current >= steps.length - 1) pause();
    else go(current + 1, false);
  }
  function play() {
    if (current === steps.length - 1) go(0, false);
    playButton.textContent = "\u275A\u275A pause";
    timer = setInterval(tick, interval());
  }
  function setSpeed() {
    root.dataset.interval = String(interval());
    if (timer !== null) {
      clearInterval(timer);
      timer = setInterval(tick, interval());
    }
  }
  listen(speedMenu, "change", () => { setSpeed(); speedMenu.blur(); });
  function changeSpeed(by) {
    const k = Math.max(0, Math.min(speedMenu.options.length - 1, speedMenu.selectedIndex + by));
    speedMenu.selectedIndex = k;
    setSpeed();
  }
  setSpeed();
  const toggle = () => (timer === null ? play() : pause());
  function go(k, stop = true) {
    if (stop) pause();
    render(k);
    followStep();
  }
  function toggleReveal(i) {
    if (!G.nodes[i] || !G.nodes[i].hidden) return;
    if (revealed.has(i)) revealed.delete(i);
    else revealed.add(i);
    render(current);
  }
  function revealAll(show) {
    const hidden = G.nodes.flatMap((node, i) => (node.hidden ? [i] : []));
    if (show === undefined) show = revealed.size < hidden.length;
    revealed = new Set(show ? hidden : []);
    render(current);
  }

  const buttons = {
    first: () => go(0), prev: () => go(current - 1), next: () => go(current + 1),
    last: () => go(steps.length - 1), play: toggle, reveal: () => revealAll(),
    "zoom-in": () => zoom(STEP_ZOOM), "zoom-out": () => zoom(1 / STEP_ZOOM), "zoom-fit": fit,
  };
  for (const [name, action] of Object.entries(buttons)) {
    const button = part(name);
    listen(button, "click", () => { action(); button.blur(); });
  }
  listen(scrubber, "input", () => go(Number(scrubber.value)));
  const keyTarget = options.keys === "document" ? document : root;
  if (keyTarget === root && !root.hasAttribute("tabindex")) root.setAttribute("tabindex", "0");
  listen(keyTarget, "keydown", (event) => {
    const card = event.target.closest ? event.target.closest("g.node.askable") : null;
    if (card && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      toggleReveal(Number(card.dataset.index));
      return;
    }
    if (event.target.closest && event.target.closest("input, select, textarea")) {
      if (event.target !== scrubber) return;
    }
    const keys = {
      ArrowRight: () => go(current + 1), ArrowDown: () => go(current + 1),
      ArrowLeft: () => go(current - 1), ArrowUp: () => go(current - 1),
      Home: () => go(0), End: () => go(steps.length - 1), " ": toggle,
      "+": () => zoom(STEP_ZOOM), "=": () => zoom(STEP_ZOOM), "-": () => zoom(1 / STEP_ZOOM),
      "0": fit, "[": () => changeSpeed(-1), "]": () => changeSpeed(1),
      r: () => { if (G.hide) revealAll(); }, R: () => { if (G.hide) revealAll(); },
    };
    const action = keys[event.key];
    if (action && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      action();
    }
  });

  // { show: true } also brings the node into the middle of the view, at `scale` (default 1) or
  // closer: a network's graph fitted whole is too small to read.
  function highlight(key, opts = {}) {
    if (key === null || key === undefined) highlighted = null;
    else if (typeof key === "string") highlighted = key in G.tags ? G.tags[key] : null;
    else highlighted = Number.isInteger(key) && key >= 0 && key < G.nodes.length ? key : null;
    root.dataset.highlight = highlighted === null ? "" : String(highlighted);
    render(current);
    if (opts.show && highlighted !== null) {
      const node = G.nodes[highlighted];
      const { width, height } = size();
      camera.scale = Math.min(MAX_SCALE, Math.max(camera.scale, opts.scale ?? 1));
      camera.left = node.x + W / 2 - width / camera.scale / 2;
      camera.top = node.y + H / 2 - height / camera.scale / 2;
      camera.moved = true;
      show();
    }
  }
  // The same graph at new numbers keeps the step, the zoom and what was revealed.
  function update(next) {
    const same = next.nodes.length === G.nodes.length;
    G = next;
    steps = G.steps;
    if (!same) { revealed = new Set(); current = 0; }
    // the payload's highlight if it names one; else the same graph keeps its highlight
    if (G.highlight !== null && G.highlight !== undefined) highlighted = G.highlight;
    else if (!same) highlighted = null;
    draw();
    arrange();
    if (camera.moved && same) show();
    else fit();
    render(current);
  }

  draw();
  arrange();
  fit();
  highlighted = G.highlight;
  render(0);
  return {
    update, highlight, revealAll,
    reveal: (i) => { if (!revealed.has(i)) toggleReveal(i); },
    go: (k) => go(k),
    get step() { return current; },
    destroy() {
      pause();
      for (const remove of listeners) remove();
      root.replaceChildren();
      root.classList.remove("ge-view", "forward", "backward", "panel-below");
    },
  };
}
return { mount };
})();
