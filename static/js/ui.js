/* Small enhancements of server-rendered forms; every form works without them.
   - input[data-tags]: a comma-separated list shown as removable chips under the field.
   - [data-reorder]: items with [data-rule] reorder by drag and drop or by their ↑/↓ buttons; each item's
     input[data-position] is renumbered 1..n, so the server reads the order the person sees. */
(function () {
  "use strict";

  function chips(input) {
    const box = document.createElement("div");
    box.className = "tag-chips";
    box.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", box);
    function draw() {
      box.replaceChildren();
      input.value.split(",").map((v) => v.trim()).filter(Boolean).forEach((value, index, all) => {
        const chip = document.createElement("span");
        chip.className = "tag";
        chip.textContent = value;
        const remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "×";
        remove.setAttribute("aria-label", "Remove " + value);
        remove.addEventListener("click", () => {
          input.value = all.filter((_, i) => i !== index).join(", ");
          draw();
          input.focus();
        });
        chip.appendChild(remove);
        box.appendChild(chip);
      });
    }
    input.addEventListener("input", draw);
    draw();
  }

  function renumber(list) {
    list.querySelectorAll("[data-rule]").forEach((item, i) => {
      const position = item.querySelector("input[data-position]");
      if (position) position.value = String(i + 1);
    });
  }

  function reorderable(list) {
    let dragged = null;
    list.querySelectorAll("[data-rule]").forEach((item) => {
      item.draggable = true;
      item.addEventListener("dragstart", (e) => {
        if (e.target.closest("input, select, textarea, button")) return;
        dragged = item;
        item.classList.add("dragging");
        e.dataTransfer.effectAllowed = "move";
      });
      item.addEventListener("dragend", () => {
        item.classList.remove("dragging");
        dragged = null;
        renumber(list);
      });
      item.addEventListener("dragover", (e) => {
        if (!dragged || dragged === item) return;
        e.preventDefault();
        const box = item.getBoundingClientRect();
        list.insertBefore(dragged, e.clientY < box.top + box.height / 2 ? item : item.nextSibling);
      });
    });
    list.addEventListener("click", (e) => {
      const button = e.target.closest("[data-move]");
      if (!button) return;
      const item = button.closest("[data-rule]");
      const other = button.dataset.move === "up" ? item.previousElementSibling : item.nextElementSibling;
      if (!other) return;
      list.insertBefore(item, button.dataset.move === "up" ? other : other.nextSibling);
      renumber(list);
      button.focus();
    });
  }

  // Ticks that survive a live list: a list re-rendered by its stream (or a filter) keeps the rows a person
  // ticked for a bulk action ticked, as long as the rows are still shown.
  const ticked = new Set();
  const tickKey = (box) => box.name + "=" + box.value;
  document.addEventListener("change", (e) => {
    const box = e.target;
    if (!(box instanceof HTMLInputElement) || box.type !== "checkbox" || !box.getAttribute("form")) return;
    if (box.checked) ticked.add(tickKey(box)); else ticked.delete(tickKey(box));
  });
  const restoreTicks = () => {
    document.querySelectorAll("input[type=checkbox][form]").forEach((box) => {
      if (ticked.has(tickKey(box))) box.checked = true;
    });
  };
  ["htmx:afterSettle", "htmx:sseMessage", "htmx:afterSwap"].forEach((name) => document.addEventListener(name, restoreTicks));

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("input[data-tags]").forEach(chips);
    document.querySelectorAll("[data-reorder]").forEach(reorderable);
  });
})();
