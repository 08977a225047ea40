// Schedule editor: reorder people (drag, or the up/down buttons), and a live preview of the
// form's shifts rendered by the server's resolver. Without this script the buttons post the
// form and the server applies them, so the page works without JavaScript too.
"use strict";
(function () {
  const form = document.getElementById("schedule-form");
  if (!form) return;
  const csrf = document.body.dataset.csrf || "";
  let timer = null;
  let sequence = 0;

  async function refreshPreview() {
    const mine = ++sequence;
    const body = new URLSearchParams(new FormData(form));
    body.delete("intent");
    const response = await fetch(form.dataset.preview, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body,
    });
    if (!response.ok || mine !== sequence) return;
    const current = document.getElementById("preview");
    const next = new DOMParser().parseFromString(await response.text(), "text/html").getElementById("preview");
    if (current && next) current.replaceWith(next);
  }

  function schedulePreview() {
    clearTimeout(timer);
    timer = setTimeout(refreshPreview, 300);
  }

  form.addEventListener("input", schedulePreview);
  form.addEventListener("change", schedulePreview);

  function announce(text) {
    const live = document.getElementById("order-status");
    if (live) live.textContent = text;
  }

  // The up, down and remove buttons of a person in a layer's order.
  form.addEventListener("click", (event) => {
    const move = event.target.closest("[data-move]");
    const add = event.target.closest("[data-add-user]");
    if (move) {
      event.preventDefault();
      const item = move.closest("li");
      const list = item.parentElement;
      const name = item.querySelector(".who").textContent;
      if (move.dataset.move === "up" && item.previousElementSibling) {
        list.insertBefore(item, item.previousElementSibling);
      } else if (move.dataset.move === "down" && item.nextElementSibling) {
        list.insertBefore(item.nextElementSibling, item);
      } else if (move.dataset.move === "remove") {
        item.remove();
        announce(`${name} removed`);
        schedulePreview();
        return;
      } else {
        return;
      }
      move.focus();
      const position = [...list.children].indexOf(item) + 1;
      announce(`${name} is now number ${position}`);
      schedulePreview();
    } else if (add) {
      event.preventDefault();
      const i = add.dataset.addUser;
      const select = document.getElementById(`layer-${i}-add`);
      const option = select.selectedOptions[0];
      if (!option) return;
      const row = document.getElementById("user-row").content.firstElementChild.cloneNode(true);
      row.dataset.user = option.value;
      const input = row.querySelector("input");
      input.name = `layer-${i}-users`;
      input.value = option.value;
      row.querySelector(".who").textContent = option.textContent;
      for (const button of row.querySelectorAll("button")) {
        button.setAttribute("aria-label", `${button.dataset.move === "remove" ? "Remove" : "Move"} ${option.textContent}${button.dataset.move === "remove" ? "" : " " + button.dataset.move}`);
      }
      document.getElementById(`layer-${i}-users`).appendChild(row);
      announce(`${option.textContent} added`);
      schedulePreview();
    }
  });

  // Drag and drop within one layer's list.
  let dragged = null;
  form.addEventListener("dragstart", (event) => {
    dragged = event.target.closest("li[draggable]");
    if (!dragged) return;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.user || "");
    dragged.classList.add("dragging");
  });
  form.addEventListener("dragover", (event) => {
    const over = event.target.closest("li[draggable]");
    if (!dragged || !over || over === dragged || over.parentElement !== dragged.parentElement) return;
    event.preventDefault();
    const box = over.getBoundingClientRect();
    const after = event.clientY > box.top + box.height / 2;
    over.parentElement.insertBefore(dragged, after ? over.nextElementSibling : over);
  });
  form.addEventListener("dragend", () => {
    if (!dragged) return;
    dragged.classList.remove("dragging");
    dragged = null;
    schedulePreview();
  });
})();
