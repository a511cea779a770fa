// Class mode for the step-through page: the grads (or the values) show as "?" until revealed,
// one card at a time (click it) or all at once (the a key; h hides them again).
(() => {
  const hide = document.currentScript.dataset.hide === "values" ? "data" : "grad";
  const revealed = new Set();
  let all = false;
  const banner = document.createElement("p");
  banner.id = "class-mode";
  banner.setAttribute("role", "status");
  banner.style.cssText = "position:fixed;right:12px;bottom:8px;margin:0;padding:4px 10px;" +
    "background:#fff3c4;border:1px solid #d9b64a;border-radius:4px;font:13px system-ui;z-index:9";
  document.body.appendChild(banner);
  const style = document.createElement("style");
  style.textContent = "body.class-mode #step-text { filter: blur(6px); }";
  document.head.appendChild(style);

  function mask() {
    for (const value of document.querySelectorAll(`g.node text.num.${hide} tspan.val`)) {
      const card = value.closest("g.node");
      const text = value.textContent;
      if (text !== "?" && text !== "\u2014") value.dataset.truth = text;
      const shown = all || revealed.has(card.id);
      const row = value.parentNode;
      if (!shown && text !== "?" && text !== "\u2014") {
        // A long number was squeezed to the card's width: a "?" must not be stretched to it.
        if (row.hasAttribute("textLength")) row.dataset.squeeze = row.getAttribute("textLength");
        row.removeAttribute("textLength");
        row.removeAttribute("lengthAdjust");
        value.textContent = "?";
      }
      if (shown && text === "?" && value.dataset.truth) {
        value.textContent = value.dataset.truth;
        if (row.dataset.squeeze) {
          row.setAttribute("textLength", row.dataset.squeeze);
          row.setAttribute("lengthAdjust", "spacingAndGlyphs");
        }
      }
    }
    document.body.classList.toggle("class-mode", !all);
    const what = hide === "grad" ? "grads" : "values";
    const text = all
      ? `class mode: all ${what} shown (h hides them)`
      : `class mode: ${what} hidden: click a card to reveal it, a reveals all`;
    if (banner.textContent !== text) banner.textContent = text; // no change, no new mutation
  }
  new MutationObserver(mask).observe(document.body, { subtree: true, childList: true, characterData: true });
  // pointerdown, not click: dragging the graph to pan takes the pointer's later events.
  document.addEventListener("pointerdown", (event) => {
    const card = event.target.closest && event.target.closest("g.node");
    if (card) { revealed.add(card.id); mask(); }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "a") { all = true; mask(); }
    if (event.key === "h") { all = false; revealed.clear(); mask(); }
  });
  mask();
})();
