// PageFree web UI: live incident list, live incident page, copy buttons, the service worker.
"use strict";
(function () {
  const csrf = document.body.dataset.csrf || "";
  const baseTitle = document.title;

  // Forms: one submit at a time, so a double tap never sends an action twice; deletes ask first.
  document.addEventListener("submit", (event) => {
    const question = event.target.dataset.confirm;
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    const button = event.target.querySelector("button[type=submit]");
    if (button) setTimeout(() => { button.disabled = true; }, 0);
  });

  // Forms marked data-inline-errors: a refusal (RFC 7807 problem+json) is shown at its fields
  // and the page stays, so nothing typed is lost; success follows the redirect.
  function clearErrors(form) {
    form.querySelectorAll("[data-inline-error]").forEach((el) => el.remove());
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  }
  function fieldFor(form, path) {
    const parts = String(path || "").split(".").filter((p) => p && !/^\d+$/.test(p));
    for (let i = parts.length - 1; i >= 0; i--) {
      const field = form.querySelector(`[name="${CSS.escape(parts[i])}"]:not([type=hidden])`);
      if (field) return field;
    }
    return null;
  }
  function showProblem(form, problem) {
    const loose = [];
    (problem.errors || []).forEach((error, n) => {
      const field = fieldFor(form, error.field);
      if (!field) { loose.push(error.field ? `${error.field}: ${error.message}` : error.message); return; }
      const note = document.createElement("p");
      note.className = "field-error";
      note.dataset.inlineError = "";
      note.id = `inline-error-${n}`;
      note.textContent = error.message;
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", note.id);
      field.insertAdjacentElement("afterend", note);
    });
    if (!(problem.errors || []).length && problem.detail) loose.push(problem.detail);
    const summary = document.createElement("div");
    summary.className = "banner error";
    summary.setAttribute("role", "alert");
    summary.dataset.inlineError = "";
    summary.textContent = loose.length ? loose.join("; ") : `${problem.title}: see the marked fields.`;
    form.prepend(summary);
    const first = form.querySelector("[aria-invalid=true]");
    if (first) first.focus();
  }
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (event.defaultPrevented || !form.matches("form[data-inline-errors]")) return;
    event.preventDefault();
    clearErrors(form);
    const enable = () => form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = false; });
    let response;
    try {
      response = await fetch(form.action, {
        method: "POST",
        headers: { Accept: "application/problem+json, text/html" },
        body: new URLSearchParams(new FormData(form, event.submitter)),
      });
    } catch (e) {
      showProblem(form, { title: "Offline", detail: "the network is unreachable; try again" });
      enable();
      return;
    }
    if ((response.headers.get("content-type") || "").includes("problem+json")) {
      showProblem(form, await response.json());
      enable();
    } else {
      window.location.assign(response.url);
    }
  });

  // Copy buttons next to read-only fields (integration URLs, keys, tokens).
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const field = document.querySelector(button.dataset.copy);
    field.select();
    try { await navigator.clipboard.writeText(field.value); button.textContent = "Copied"; }
    catch (e) { button.textContent = "Press Ctrl+C"; }
  });

  // A short beep for a new triggered incident (browsers allow it after the first interaction).
  let audio = null;
  document.addEventListener("pointerdown", () => { audio = audio || new AudioContext(); }, { once: true });
  function beep() {
    if (!audio) return;
    const osc = audio.createOscillator(); const gain = audio.createGain();
    osc.frequency.value = 880; gain.gain.value = 0.05;
    osc.connect(gain).connect(audio.destination); osc.start(); osc.stop(audio.currentTime + 0.2);
  }

  function setTitle(triggered) {
    document.title = triggered > 0 ? `(${triggered}) ${baseTitle}` : baseTitle;
  }

  const list = document.querySelector("[data-live-list]");
  const livePage = document.querySelector("[data-live-page]");
  const status = document.getElementById("live-status");
  let known = new Set();

  function triggeredIds(root) {
    return new Set([...root.querySelectorAll('.incident[data-status="triggered"]')].map((el) => el.dataset.incidentId));
  }

  // A redirect means the session has ended: show the sign-in page instead of swapping it in.
  function signedOut(response) {
    if (!response.redirected) return false;
    window.location.assign(response.url);
    return true;
  }

  async function refreshList() {
    const response = await fetch(list.dataset.liveList, { headers: { Accept: "text/html" } });
    if (signedOut(response) || !response.ok) return;
    list.innerHTML = await response.text();
    const now = triggeredIds(list);
    const fresh = [...now].filter((id) => !known.has(id));
    const titles = fresh.map((id) => {
      const item = list.querySelector(`[data-incident-id="${id}"]`);
      item.classList.add("fresh");
      return item.querySelector(".title").textContent;
    });
    if (fresh.length) {
      beep();
      // One short sentence for screen readers instead of re-reading the whole list.
      document.getElementById("announce").textContent = `New triggered incident: ${titles.join("; ")}`;
    }
    known = now;
    setTitle(Number(list.querySelector(".counts").dataset.triggered));
    try { localStorage.setItem("pagefree:last-list", String(Date.now())); } catch (e) { /* private mode */ }
  }

  async function refreshPage() {
    const response = await fetch(livePage.dataset.livePage, { headers: { Accept: "text/html" } });
    if (signedOut(response) || !response.ok) return;
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    document.querySelectorAll("[data-live][id]").forEach((el) => {
      const next = doc.getElementById(el.id);
      if (next) el.replaceWith(next);
    });
  }

  function listen(onChange, filter) {
    const source = new EventSource("/web/events");
    let timer = null;
    source.addEventListener("open", () => { if (status) status.textContent = "Live updates: on"; });
    source.addEventListener("error", () => {
      if (!status) return;
      status.textContent = source.readyState === EventSource.CLOSED
        ? "Live updates: off (reload the page)" : "Live updates: reconnecting…";
    });
    source.addEventListener("incident", (event) => {
      const data = JSON.parse(event.data);
      if (filter && !filter(data)) return;
      // Changes arrive in bursts (a page per user, then deliveries): fetch once per burst.
      clearTimeout(timer);
      timer = setTimeout(onChange, 100);
    });
  }

  if (list) {
    known = triggeredIds(list);
    setTitle(Number(list.querySelector(".counts").dataset.triggered));
    listen(refreshList);
  } else if (livePage) {
    const id = livePage.dataset.incidentId;
    listen(refreshPage, (data) => data.incident_id === id);
  }

  if (!navigator.onLine) document.getElementById("offline-banner").hidden = false;
  window.addEventListener("offline", () => { document.getElementById("offline-banner").hidden = false; });
  window.addEventListener("online", () => { document.getElementById("offline-banner").hidden = true; });

  if ("serviceWorker" in navigator && csrf) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  }
})();
