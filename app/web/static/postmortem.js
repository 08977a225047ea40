// Postmortem editor: a live preview of the Markdown, rendered and sanitised by the server.
"use strict";
(function () {
  const csrf = document.body.dataset.csrf || "";
  const source = document.querySelector("textarea[data-preview-url]");
  if (!source) return;
  const target = document.querySelector(source.dataset.previewTarget);
  let timer = null;
  let sent = 0;

  async function refresh() {
    const mine = ++sent;
    const body = new URLSearchParams({ body: source.value });
    const response = await fetch(source.dataset.previewUrl, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body,
    });
    // The answer is HTML the server sanitised (markdown-it + nh3); a late answer is dropped.
    if (response.ok && mine === sent) target.innerHTML = await response.text();
  }

  source.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
})();
