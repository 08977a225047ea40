// Responder view: one-tap acknowledge/resolve from the incident list with a few seconds to
// undo, swipe gestures on list rows, and keyboard shortcuts (/ search, j/k move, a, r).
// Without this script the row buttons are plain forms that act at once.
"use strict";
(function () {
  const csrf = document.body.dataset.csrf || "";
  const UNDO_MS = 5000;
  const SWIPE_PX = 90;
  const toast = document.getElementById("toast");
  const toastText = document.getElementById("toast-text");
  const undoButton = document.getElementById("toast-undo");
  let pending = null;

  function say(text, undoable) {
    if (!toast) return;
    toastText.textContent = text;
    undoButton.hidden = !undoable;
    toast.hidden = false;
  }

  function refreshList() {
    // The live list refetches on the incident's event; this is for a missed one.
    const list = document.querySelector("[data-live-list]");
    if (!list) return;
    fetch(list.dataset.liveList, { headers: { Accept: "text/html" } })
      .then((r) => (r.ok && !r.redirected ? r.text() : null))
      .then((html) => { if (html !== null) list.innerHTML = html; })
      .catch(() => {});
  }

  async function send(action) {
    if (pending === action) pending = null;
    clearTimeout(action.timer);
    try {
      const response = await fetch(action.form.action, {
        method: "POST",
        headers: { "X-CSRF-Token": csrf, Accept: "text/html" },
        keepalive: true,
      });
      if (!response.ok) {
        action.row.classList.remove("pending");
        say(`That did not work for #${action.number}: reload and try again.`, false);
      } else if (!pending) {
        say(`${action.label} #${action.number}.`, false);
        setTimeout(() => { if (!pending) toast.hidden = true; }, 2500);
      }
    } catch (e) {
      action.row.classList.remove("pending");
      say(`Offline: #${action.number} was not ${action.label.toLowerCase()}.`, false);
    }
    refreshList();
  }

  // Queue an action; it is sent when the undo time is over (or at once if another comes).
  function queue(form) {
    const row = form.closest(".incident");
    if (!row || row.classList.contains("pending")) return;
    if (pending) send(pending);
    const kind = form.dataset.quick;
    const action = {
      form,
      row,
      number: row.dataset.number,
      label: kind === "acknowledge" ? "Acknowledged" : "Resolved",
    };
    row.classList.add("pending");
    action.timer = setTimeout(() => send(action), UNDO_MS);
    pending = action;
    say(`${kind === "acknowledge" ? "Acknowledging" : "Resolving"} #${action.number}…`, true);
    undoButton.focus({ preventScroll: true });
  }

  if (undoButton) {
    undoButton.addEventListener("click", () => {
      if (!pending) return;
      clearTimeout(pending.timer);
      pending.row.classList.remove("pending");
      say(`Undone: #${pending.number} stays ${pending.row.dataset.status}.`, false);
      pending = null;
      setTimeout(() => { if (!pending) toast.hidden = true; }, 2500);
    });
  }
  // Leaving the page sends what is queued rather than dropping it.
  window.addEventListener("pagehide", () => { if (pending) send(pending); });

  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-quick]");
    if (!form) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    queue(form);
  }, true);

  function quickForm(row, kind) {
    return row && row.querySelector(`form[data-quick="${kind}"]`);
  }

  // Swipe a row right to acknowledge, left to resolve.
  let start = null;
  document.addEventListener("pointerdown", (event) => {
    const row = event.target.closest(".incident");
    if (!row || event.pointerType === "mouse" || !row.querySelector("form[data-quick]")) return;
    start = { row, x: event.clientX, y: event.clientY, dx: 0 };
  });
  document.addEventListener("pointermove", (event) => {
    if (!start) return;
    const dx = event.clientX - start.x;
    if (Math.abs(event.clientY - start.y) > Math.abs(dx)) { start = null; return; }
    start.dx = dx;
    start.row.classList.add("swiping");
    start.row.style.transform = `translateX(${Math.max(-140, Math.min(140, dx))}px)`;
  });
  function endSwipe() {
    if (!start) return;
    const { row, dx } = start;
    start = null;
    row.classList.remove("swiping");
    row.style.transform = "";
    const form = dx > SWIPE_PX ? quickForm(row, "acknowledge") : dx < -SWIPE_PX ? quickForm(row, "resolve") : null;
    if (form) queue(form);
  }
  document.addEventListener("pointerup", endSwipe);
  document.addEventListener("pointercancel", endSwipe);
  // A swipe that ends on the row's link must not open the incident.
  document.addEventListener("click", (event) => {
    const row = event.target.closest(".incident.pending");
    if (row && event.target.closest("a")) event.preventDefault();
  }, true);

  // Keyboard shortcuts, not while typing.
  let selected = null;
  function rows() { return [...document.querySelectorAll(".incident")]; }
  function select(row) {
    if (selected) selected.classList.remove("selected");
    selected = row;
    if (row) { row.classList.add("selected"); row.querySelector("a").focus(); }
  }
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    const key = event.key;
    if (key === "/") {
      const search = document.getElementById("f-q");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
      return;
    }
    const page = document.querySelector("[data-live-page]");
    if (page && (key === "a" || key === "r")) {
      // The incident page: the same forms as its buttons.
      const form = document.querySelector(`form[action$="/${key === "a" ? "acknowledge" : "resolve"}"]`);
      if (form) { event.preventDefault(); form.requestSubmit(); }
      return;
    }
    const all = rows();
    if (!all.length) return;
    const current = selected && document.contains(selected)
      ? selected : event.target.closest(".incident");
    if (key === "j" || key === "k") {
      event.preventDefault();
      const at = current ? all.findIndex((r) => r.dataset.incidentId === current.dataset.incidentId) : -1;
      select(all[Math.max(0, Math.min(all.length - 1, at + (key === "j" ? 1 : -1)))]);
    } else if ((key === "a" || key === "r") && current) {
      const form = quickForm(current, key === "a" ? "acknowledge" : "resolve");
      if (form) { event.preventDefault(); queue(form); }
    }
  });
})();
