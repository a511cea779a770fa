// The playground page. Every number it shows comes from the server (gradengine): this script
// only asks for steps, draws what it is sent (numbers to colours and positions) and sends edits.
// A point's chain rule is drawn by gradengine's step-through view (page.js: GradengineGraph).
"use strict";
(() => {
  const token = new URLSearchParams(location.search).get("token") || "";
  const $ = (id) => document.getElementById(id);
  const state = { run: null, frame: null, playing: false, busy: false, focus: null, hoverEdge: null };
  // The chain-rule view: the point shown, the neuron ringed (the last one hovered), the view.
  const chain = { point: null, neuron: null, view: null, hide: "", loading: false, again: false, last: 0 };
  const ORANGE = [245, 147, 34], BLUE = [8, 119, 189];

  // -- talking to the server ----------------------------------------------------------------------
  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Playground-Token": token },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({ error: response.statusText }));
    if (!response.ok) throw new Error(answer.error || response.statusText);
    return answer;
  }
  const say = (text) => { $("status").textContent = text || ""; };
  const withToken = (path, params) =>
    path + "?" + new URLSearchParams({ ...params, token }).toString();

  async function act(path, body) {
    if (!state.run) return;
    state.busy = true;
    try {
      show(await post(path, { run: state.run, focus: state.focus, ...body }));
      say(state.frame.problem);
    } catch (error) {
      say(error.message);
      pause();
    } finally {
      state.busy = false;
    }
  }

  async function start(setupText) {
    pause();
    say("setting up…");
    try {
      const frame = await post("/api/run", { setup: setupText, replaces: state.run, focus: state.focus });
      state.run = frame.run;
      show(frame);
      fillSetup(frame.setup);
      say("");
    } catch (error) {
      say(error.message);
    }
  }

  // -- play, pause, step, reset -------------------------------------------------------------------
  function pause() {
    state.playing = false;
    $("play").textContent = "Play";
    $("play").setAttribute("aria-pressed", "false");
  }
  async function loop() {
    while (state.playing) {
      const started = performance.now();
      await act("/api/step", { steps: Number($("speed").value) });
      const wait = Math.max(0, 33 - (performance.now() - started));
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
  function togglePlay() {
    if (state.playing) return pause();
    state.playing = true;
    $("play").textContent = "Pause";
    $("play").setAttribute("aria-pressed", "true");
    loop();
  }
  const step = () => { if (!state.playing && !state.busy) act("/api/step", { steps: 1 }); };
  const reset = () => start(state.frame ? state.frame.setup : location.hash.slice(1));
  $("play").addEventListener("click", togglePlay);
  $("step").addEventListener("click", step);
  $("reset").addEventListener("click", reset);
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, select, textarea") || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest(".ge-view")) return; // the chain-rule view's own keys (R, space, arrows)
    if (event.key === " " && !event.target.closest("button")) { event.preventDefault(); togglePlay(); }
    else if (event.key === "s" || event.key === "ArrowRight") { event.preventDefault(); step(); }
    else if (event.key === "r") reset();
  });

  // -- the setup form and the URL -----------------------------------------------------------------
  function fillSetup(text) {
    const fields = new URLSearchParams(text);
    for (const [key, value] of fields) {
      const input = $("setup").elements[key];
      if (input) input.value = value;
    }
    history.replaceState(null, "", location.pathname + location.search + "#" + text);
    $("share").href = "#" + text;
  }
  $("setup").addEventListener("submit", (event) => {
    event.preventDefault();
    const fields = new URLSearchParams();
    for (const input of $("setup").elements) if (input.name) fields.set(input.name, input.value);
    // Removed points are numbered within the generated data: other data, other numbers.
    const before = new URLSearchParams(state.frame ? state.frame.setup : "");
    if (["dataset", "samples", "noise", "test", "seed"].some((key) => before.get(key) !== fields.get(key))) {
      fields.set("removed", "");
    }
    start(fields.toString());
  });

  // -- drawing ------------------------------------------------------------------------------------
  const fmt = (x, digits = 4) => (typeof x === "number" ? Number(x.toPrecision(digits)).toString() : x === null ? "–" : String(x));
  const pct = (x) => (typeof x === "number" ? (100 * x).toFixed(1) + "%" : "–");

  function colour(v, scale) {
    // A score's sign picks the class colour; its size, the strength.
    const t = Math.max(-1, Math.min(1, (Number(v) || 0) / scale));
    const c = t < 0 ? ORANGE : BLUE;
    const a = Math.abs(t);
    return [255 + (c[0] - 255) * a * 0.75, 255 + (c[1] - 255) * a * 0.75, 255 + (c[2] - 255) * a * 0.75];
  }
  function scaleOf(values, fixed) {
    if (fixed) return 1;
    let top = 1e-9;
    for (const v of values) if (typeof v === "number") top = Math.max(top, Math.abs(v));
    return top;
  }
  const offscreen = {}; // one scratch canvas per map size, reused by every map of that size
  function paintMap(ctx, values, n, x, y, size, fixedScale) {
    const image = ctx.createImageData(n, n);
    const scale = scaleOf(values, fixedScale);
    values.forEach((v, i) => {
      const [r, g, b] = colour(v, scale);
      image.data.set([r, g, b, 255], 4 * i);
    });
    if (!offscreen[n]) {
      offscreen[n] = document.createElement("canvas");
      offscreen[n].width = offscreen[n].height = n;
    }
    const off = offscreen[n];
    off.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(off, x, y, size, size);
  }

  function show(frame) {
    state.frame = frame;
    $("step-count").textContent = String(frame.step);
    $("loss").textContent = fmt(frame.loss, 6);
    $("loss").title = String(frame.loss);
    $("train-accuracy").textContent = pct(frame.train_accuracy);
    $("test-accuracy").textContent = pct(frame.test_accuracy);
    $("export-script").href = withToken("/api/export.py", { run: frame.run || state.run });
    $("export-model").href = withToken("/api/model.json", { run: frame.run || state.run });
    if (frame.setup && !location.hash.endsWith(frame.setup)) fillSetup(frame.setup);
    drawPlane(frame);
    drawCurves(frame);
    drawNetwork(frame);
    // The open graph follows the training: every step, at most once a second while playing.
    if (chain.view && $("follow").checked && (!state.playing || performance.now() - chain.last > 1000)) {
      openChain(chain.point, true);
    }
  }

  function toPixel(frame, x, y, size) {
    const [x0, x1, y0, y1] = frame.box;
    return [((x - x0) / (x1 - x0)) * size, ((y1 - y) / (y1 - y0)) * size];
  }
  function fromPixel(frame, px, py, size) {
    const [x0, x1, y0, y1] = frame.box;
    return [x0 + (px / size) * (x1 - x0), y1 - (py / size) * (y1 - y0)];
  }

  function drawPlane(frame) {
    const canvas = $("plane"), ctx = canvas.getContext("2d"), size = canvas.width;
    const focused = frame.focus && frame.focus[0] === state.focus;
    const values = focused ? frame.focus[1] : frame.output;
    const isOutput = !focused || frame.focus[0] === frame.neurons.length - 1;
    paintMap(ctx, values, frame.grid, 0, 0, size, isOutput);
    $("plane-showing").textContent = focused ? "showing: " + neuronName(frame, frame.focus[0]) + "'s output" : "showing: the network's output";
    for (const [part, ring] of [["train", false], ["test", true]]) {
      for (const [x, y, c] of frame[part]) {
        const [px, py] = toPixel(frame, x, y, size);
        ctx.beginPath();
        ctx.arc(px, py, 4, 0, 2 * Math.PI);
        ctx.fillStyle = `rgb(${(c ? BLUE : ORANGE).join(",")})`;
        ctx.strokeStyle = ring ? "#000" : "#fff";
        ctx.lineWidth = ring ? 1.5 : 1;
        ctx.fill();
        ctx.stroke();
      }
    }
  }

  function drawCurve(canvas, series, fixedTop) {
    const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    ctx.strokeStyle = "#ddd";
    ctx.strokeRect(0.5, 0.5, w - 1, h - 1);
    const all = series.flatMap((s) => s.points).filter((p) => typeof p[1] === "number");
    if (!all.length) return;
    const last = Math.max(...all.map((p) => p[0]), 1);
    const top = fixedTop || Math.max(...all.map((p) => p[1]), 1e-9);
    for (const { points, style } of series) {
      ctx.strokeStyle = style;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      points.forEach(([s, v], i) => {
        if (typeof v !== "number") return;
        const x = (s / last) * (w - 4) + 2, y = h - 2 - (Math.min(v, top) / top) * (h - 4);
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.stroke();
    }
    ctx.fillStyle = "#666";
    ctx.fillText(fixedTop ? "1" : fmt(top, 3), 4, 12);
    ctx.fillText("step " + last, w - 60, h - 6);
  }
  function drawCurves(frame) {
    const c = frame.curves;
    drawCurve($("loss-curve"), [{ points: c.loss, style: "#333" }, { points: c.test_loss, style: "#9ab" }]);
    drawCurve($("accuracy-curve"), [{ points: c.train_acc, style: "#333" }, { points: c.test_acc, style: "#9ab" }], 1);
  }

  // -- the network: neurons (buttons over the canvas) and weights (edges) ----------------------------
  let BOX = 36;
  function layout(frame) {
    const canvas = $("network"), w = canvas.width, h = canvas.height;
    const sizes = frame.sizes, columns = sizes.length;
    BOX = Math.max(8, Math.min(36, (h - 8) / Math.max(...sizes) - 3));
    const positions = sizes.map((n, l) => {
      const x = 20 + (l * (w - 40 - BOX)) / (columns - 1);
      const gap = Math.min(BOX + 8, (h - BOX) / Math.max(n - 1, 1));
      const y0 = (h - BOX - gap * (n - 1)) / 2;
      return Array.from({ length: n }, (_, j) => [x, y0 + j * gap]);
    });
    // Edges in mlp.parameters() order: for each layer, each neuron: w1..wn, then b.
    const edges = [];
    let index = 0;
    for (let l = 1; l < columns; l++) {
      for (let j = 0; j < sizes[l]; j++) {
        for (let k = 0; k < sizes[l - 1]; k++) edges.push({ index: index++, from: positions[l - 1][k], to: positions[l][j], name: `w${k + 1} of ${neuronLabel(frame, l, j)}` });
        edges.push({ index: index++, bias: true, at: positions[l][j], name: `b of ${neuronLabel(frame, l, j)}` });
      }
    }
    return { positions, edges };
  }
  function neuronLabel(frame, l, j) {
    return l === frame.sizes.length - 1 ? "the output" : `neuron ${j + 1} of layer ${l}`;
  }
  function neuronName(frame, k) {
    let count = 0;
    for (let l = 1; l < frame.sizes.length; l++) {
      if (k < count + frame.sizes[l]) return neuronLabel(frame, l, k - count);
      count += frame.sizes[l];
    }
    return "neuron";
  }

  let buttonsKey = "";
  function drawNetwork(frame) {
    const canvas = $("network"), ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const { positions, edges } = layout(frame);
    state.edges = edges;
    const half = BOX / 2;
    for (const edge of edges) {
      if (edge.bias) continue;
      const value = frame.parameters[edge.index][0];
      const v = typeof value === "number" ? value : 0;
      ctx.strokeStyle = `rgba(${(v < 0 ? ORANGE : BLUE).join(",")},${edge.index === state.hoverEdge ? 1 : 0.6})`;
      ctx.lineWidth = Math.min(6, 0.5 + Math.abs(v) * 1.5) + (edge.index === state.hoverEdge ? 2 : 0);
      ctx.beginPath();
      ctx.moveTo(edge.from[0] + BOX, edge.from[1] + half);
      ctx.lineTo(edge.to[0], edge.to[1] + half);
      ctx.stroke();
    }
    ctx.fillStyle = "#444";
    positions[0].forEach(([x, y], k) => {
      ctx.strokeRect(x, y, BOX, BOX);
      ctx.fillText(`x${k + 1}`, x + 10, y + 22);
    });
    let k = 0;
    for (let l = 1; l < positions.length; l++) {
      for (const [x, y] of positions[l]) {
        const isOut = l === positions.length - 1;
        const values = isOut ? thumbnail(frame.output, frame.grid) : frame.neurons[k];
        paintMap(ctx, values, Math.round(Math.sqrt(values.length)), x, y, BOX, isOut);
        k++;
      }
    }
    const key = frame.sizes.join(",");
    if (key !== buttonsKey) makeNeuronButtons(frame, positions), fillParameters(edges), (buttonsKey = key);
  }
  function thumbnail(values, n) {
    const out = [];
    for (let j = 0; j < n; j += 2) for (let i = 0; i < n; i += 2) out.push(values[j * n + i]);
    return out;
  }
  function makeNeuronButtons(frame, positions) {
    const holder = $("neuron-buttons");
    holder.textContent = "";
    let k = 0, index = 0;
    const sizes = frame.sizes;
    for (let l = 1; l < positions.length; l++) {
      positions[l].forEach(([x, y], j) => {
        index += sizes[l - 1];
        const neuron = k++, bias = index++;
        const button = document.createElement("button");
        button.type = "button";
        button.style.left = x + "px";
        button.style.top = y + "px";
        button.style.width = button.style.height = BOX + "px";
        button.setAttribute("aria-label", `${neuronLabel(frame, l, j)}: show its output; click to set its bias`);
        button.dataset.neuron = String(neuron);
        const enter = () => setFocus(neuron);
        button.addEventListener("mouseenter", enter);
        button.addEventListener("focus", enter);
        button.addEventListener("mouseleave", () => setFocus(null));
        button.addEventListener("blur", () => setFocus(null));
        button.addEventListener("click", () => edit(bias, `b of ${neuronLabel(frame, l, j)}`));
        holder.appendChild(button);
      });
    }
  }
  function fillParameters(edges) {
    const select = $("parameter");
    select.textContent = "";
    for (const edge of edges) select.add(new Option(edge.name, String(edge.index)));
  }
  $("parameter").addEventListener("change", () => {
    const index = Number($("parameter").value);
    const [value, grad] = state.frame.parameters[index];
    $("weight-info").textContent = `${state.edges[index].name}: value ${fmt(value, 6)}, grad ${fmt(grad, 6)}`;
  });
  $("edit-parameter").addEventListener("click", () => {
    const index = Number($("parameter").value);
    edit(index, state.edges[index].name);
  });

  function setFocus(neuron) {
    if (state.focus === neuron) return;
    state.focus = neuron;
    if (neuron !== null) {
      chain.neuron = neuron;
      if (chain.view) chain.view.highlight(`neuron-${neuron}`, { show: true });
    }
    if (!state.playing && !state.busy) act("/api/frame", {});
  }

  function nearestEdge(px, py) {
    let best = null, bestDistance = 6;
    const half = BOX / 2;
    for (const edge of state.edges || []) {
      if (edge.bias) continue;
      const ax = edge.from[0] + BOX, ay = edge.from[1] + half, bx = edge.to[0], by = edge.to[1] + half;
      const dx = bx - ax, dy = by - ay;
      const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
      const d = Math.hypot(px - ax - t * dx, py - ay - t * dy);
      if (d < bestDistance) (best = edge), (bestDistance = d);
    }
    return best;
  }
  $("network").addEventListener("mousemove", (event) => {
    const edge = nearestEdge(event.offsetX, event.offsetY);
    const index = edge ? edge.index : null;
    if (edge) {
      const [value, grad] = state.frame.parameters[edge.index];
      $("weight-info").textContent = `${edge.name}: value ${fmt(value, 6)}, grad ${fmt(grad, 6)}`;
    }
    if (index !== state.hoverEdge) (state.hoverEdge = index), drawNetwork(state.frame);
  });
  $("network").addEventListener("click", (event) => {
    const edge = nearestEdge(event.offsetX, event.offsetY);
    if (edge) edit(edge.index, edge.name);
  });

  function edit(index, name) {
    pause();
    const [value, grad] = state.frame.parameters[index];
    state.editing = index;
    $("editor").hidden = false;
    $("editor-name").textContent = name;
    $("editor-value").value = String(value);
    $("weight-info").textContent = `${name}: value ${fmt(value, 6)}, grad ${fmt(grad, 6)}`;
    $("editor-value").focus();
    $("editor-value").select();
  }
  $("editor").addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = Number($("editor-value").value);
    if ($("editor-value").value.trim() === "" || !Number.isFinite(value)) return say("type a number");
    await act("/api/set", { index: state.editing, value });
    $("editor").hidden = true;
    const [now, grad] = state.frame.parameters[state.editing];
    $("weight-info").textContent = `${$("editor-name").textContent}: value ${fmt(now, 6)}, grad ${fmt(grad, 6)}`;
  });
  $("editor-cancel").addEventListener("click", () => { $("editor").hidden = true; });

  // -- the plane: add or remove points, or open a point's chain rule --------------------------------
  $("plane").addEventListener("click", (event) => {
    const frame = state.frame;
    if (!frame) return;
    const size = $("plane").width;
    const px = (event.offsetX * size) / $("plane").clientWidth, py = (event.offsetY * size) / $("plane").clientHeight;
    let hit = null;
    for (const part of ["train", "test"]) {
      frame[part].forEach(([x, y, c], i) => {
        const [qx, qy] = toPixel(frame, x, y, size);
        if (Math.hypot(qx - px, qy - py) <= 6) hit = { part, i, x, y, c };
      });
    }
    const mode = document.querySelector("input[name=mode]:checked").value;
    const cls = Number(document.querySelector("input[name=cls]:checked").value);
    if (mode === "chain") {
      const [x, y] = hit ? [hit.x, hit.y] : fromPixel(frame, px, py, size);
      openChain({ x, y, label: hit ? hit.c : cls });
    } else if (hit) {
      act("/api/point", { remove: [hit.part, hit.i] });
    } else {
      const [x, y] = fromPixel(frame, px, py, size);
      act("/api/point", { add: [x, y, cls] });
    }
  });

  async function openChain(point, quiet) {
    chain.point = point;
    const form = $("chain-form").elements;
    form.x.value = fmt(point.x, 6);
    form.y.value = fmt(point.y, 6);
    form.label.value = String(point.label);
    if (chain.loading) { chain.again = true; return; } // one request at a time; then the latest
    chain.loading = true;
    chain.last = performance.now();
    try {
      const hide = form.hide.value;
      const answer = await post("/api/graph", {
        run: state.run, x: point.x, y: point.y, label: point.label, neuron: chain.neuron, hide,
      });
      $("graph-box").hidden = false;
      $("graph-title").textContent = answer.title;
      $("graph-subtitle").textContent = answer.subtitle;
      // Another class mode is another view: what was revealed belongs to the old one.
      if (chain.view && chain.hide !== hide) { chain.view.destroy(); chain.view = null; }
      if (chain.view) chain.view.update(answer.graph);
      else chain.view = GradengineGraph.mount($("graph"), answer.graph);
      chain.hide = hide;
      if (!quiet) $("graph-box").scrollIntoView({ behavior: "smooth", block: "nearest" });
    } catch (error) {
      say(error.message);
    } finally {
      chain.loading = false;
      if (chain.again) { chain.again = false; openChain(chain.point, true); }
    }
  }
  $("chain-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = $("chain-form").elements;
    openChain({ x: Number(form.x.value), y: Number(form.y.value), label: Number(form.label.value) });
  });
  $("chain-form").elements.hide.addEventListener("change", () => { if (chain.view) openChain(chain.point, true); });

  // The same from the keyboard: the point typed in the chain-rule form.
  $("add-point").addEventListener("click", () => {
    const form = $("chain-form").elements;
    act("/api/point", { add: [Number(form.x.value), Number(form.y.value), Number(form.label.value)] });
  });
  $("remove-point").addEventListener("click", () => {
    const form = $("chain-form").elements, frame = state.frame;
    const x = Number(form.x.value), y = Number(form.y.value);
    let best = null;
    for (const part of ["train", "test"]) {
      frame[part].forEach(([px, py], i) => {
        const d = Math.hypot(px - x, py - y); // which point to remove, not a number shown
        if (!best || d < best.d) best = { part, i, d };
      });
    }
    if (best) act("/api/point", { remove: [best.part, best.i] });
  });

  // -- take it home -------------------------------------------------------------------------------
  $("export-model").addEventListener("click", async (event) => {
    // Fetched first: a run the server has closed gets its reason, not a file of it.
    event.preventDefault();
    const response = await fetch($("export-model").href);
    if (!response.ok) {
      const answer = await response.json().catch(() => ({ error: response.statusText }));
      return say(answer.error);
    }
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = "model.json";
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  });
  $("show-program").addEventListener("click", async () => {
    const response = await fetch(withToken("/api/program", { run: state.run }));
    $("program").textContent = await response.text();
    $("program").hidden = false;
  });

  start(location.hash.slice(1));
})();
