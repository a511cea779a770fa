"use strict";
// Draws GRAPH (nodes laid out in Python) as SVG and replays its steps: the forward pass computes
// each value, the backward pass hands each node's grad to its inputs. All text comes from Python.
(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const G = GRAPH;
  const W = G.card.width, H = G.card.height, OP_H = G.op.height, OP_MARGIN = G.op.margin;
  const svg = document.getElementById("graph");
  const canvas = document.getElementById("canvas");
  svg.setAttribute("viewBox", `0 0 ${G.width} ${G.height}`);
  // Shrink a wide graph to fit the window (down to half size; beyond that, scroll).
  function fit() {
    const box = canvas.getBoundingClientRect();
    const scale = Math.max(0.5, Math.min(1.2, (box.width - 8) / G.width, (box.height - 8) / G.height));
    svg.setAttribute("width", Math.floor(G.width * scale));
    svg.setAttribute("height", Math.floor(G.height * scale));
  }
  fit();
  window.addEventListener("resize", fit);

  function make(tag, attrs, parent, text) {
    const element = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, value);
    if (text !== undefined) element.textContent = text;
    parent.appendChild(element);
    return element;
  }
  function curve(sx, sy, ex, ey) {
    const dx = Math.max(24, (ex - sx) / 2);
    return `M${sx},${sy} C${sx + dx},${sy} ${ex - dx},${ey} ${ex},${ey}`;
  }

  const edgeLayer = make("g", {}, svg), opLayer = make("g", {}, svg), nodeLayer = make("g", {}, svg);
  const nodes = G.nodes.map((node, i) => {
    const group = make("g", { class: node.parents.length ? "node" : "node leaf", id: `node-${i}`,
                              "data-name": node.name }, nodeLayer);
    make("rect", { x: node.x, y: node.y, width: W, height: H, rx: 8 }, group);
    make("text", { class: node.labelled ? "name" : "name auto", x: node.x + 10, y: node.y + 19 },
         group, node.name);
    const row = (cls, key, y) => {
      const text = make("text", { class: `num ${cls}`, x: node.x + 10, y: node.y + y }, group);
      make("tspan", { class: "key" }, text, key);
      return make("tspan", { class: "val" }, text);
    };
    const view = { group, data: row("data", "data ", 38), grad: row("grad", "grad ", 56),
                   edges: [], op: null };
    view.gradRow = view.grad.parentNode;
    if (node.parents.length) {
      const right = node.x - OP_MARGIN, left = right - node.opWidth, cy = node.y + H / 2;
      view.op = make("g", { class: "op" }, opLayer);
      make("rect", { x: left, y: cy - OP_H / 2, width: node.opWidth, height: OP_H, rx: OP_H / 2 },
           view.op);
      make("text", { x: (left + right) / 2, y: cy }, view.op, node.symbol);
      node.parents.forEach((p, k) => {
        const parent = G.nodes[p];
        const spread = (k - (node.parents.length - 1) / 2) * Math.min(6, (OP_H - 6) / node.parents.length);
        view.edges.push(make("path", { class: "edge", d: curve(parent.x + W, parent.y + H / 2,
                                                               left, cy + spread) }, edgeLayer));
      });
      view.edges.push(make("path", { class: "edge", d: `M${right},${cy} L${node.x},${cy}` },
                           edgeLayer));
    }
    return view;
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
      const g = grad[i];
      view.grad.textContent = g === null ? "\u2014" : g.text;
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
      nodes[step.node].group.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  }

  function pause() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    playButton.textContent = "\u25B6 play";
  }
  function play() {
    if (current === steps.length - 1) render(0);
    playButton.textContent = "\u275A\u275A pause";
    timer = setInterval(() => {
      if (current >= steps.length - 1) pause();
      else render(current + 1);
    }, 900);
  }
  const toggle = () => (timer === null ? play() : pause());
  const go = (k) => { pause(); render(k); };

  const buttons = {
    first: () => go(0), prev: () => go(current - 1), next: () => go(current + 1),
    last: () => go(steps.length - 1), play: toggle,
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
    };
    const action = keys[event.key];
    if (action && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      action();
    }
  });
  render(0);
})();
