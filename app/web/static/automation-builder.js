// Automation builder: a form-based step list (trigger, conditions, ordered steps with if/else
// branches) kept as the API's JSON. The page's form carries that JSON in its `definition`
// field, so without this script an admin edits the JSON directly; with it, the JSON is built
// from the fields below and posted, and a refusal (RFC 7807) is shown at the step field it names.
"use strict";
(function () {
  const form = document.getElementById("automation-form");
  const root = document.getElementById("builder");
  if (!form || !root) return;
  const source = form.querySelector("textarea[name=definition]");
  const lookups = JSON.parse(document.getElementById("automation-lookups").textContent);
  let model;
  try { model = JSON.parse(source.value); } catch (e) { return; } // broken JSON: edit it as text
  if (!model || typeof model !== "object") return;

  const STEP_TYPES = lookups.step_types.map((t) => t.value);
  // A template's fields to fill in (`steps[0].connection_id`): marked until they are changed.
  function valueAt(obj, path) {
    return String(path).replace(/\[(\d+)\]/g, ".$1").split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), obj);
  }
  const needs = (lookups.needs || []).map((p) => ({ path: p, original: valueAt(model, p) }));
  const LABEL_PREFIX = "alert.labels.";

  // --- small DOM helpers -----------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (v === null || v === undefined || v === false) return;
      if (k === "text") node.textContent = v;
      else if (k === "className") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    });
    children.flat().forEach((c) => { if (c) node.append(c); });
    return node;
  }
  const idOf = (path) => "f-" + path.replace(/\./g, "-");
  function optionsOf(list, current, blank) {
    const out = blank === undefined ? [] : [el("option", { value: "", text: blank })];
    list.forEach((o) => {
      const value = typeof o === "string" ? o : (o.value !== undefined ? o.value : o.id);
      const text = typeof o === "string" ? o : (o.label || o.name || value);
      out.push(el("option", { value, text, selected: String(current) === String(value) }));
    });
    if (current && !out.some((o) => o.value === String(current))) {
      out.push(el("option", { value: current, text: `${current} (unknown)`, selected: true }));
    }
    return out;
  }
  function field(label, path, input, help) {
    input.id = idOf(path);
    input.dataset.path = path;
    const done = () => { const hint = input.parentElement && input.parentElement.querySelector("[data-need]"); if (hint) hint.remove(); };
    input.addEventListener("input", done);
    input.addEventListener("change", done);
    const wrap = el("div", { className: "field" }, el("label", { for: input.id, text: label }), input);
    if (help) wrap.append(el("p", { className: "muted small", text: help }));
    return wrap;
  }
  function text(obj, key, label, path, opts) {
    const o = opts || {};
    const input = o.multiline
      ? el("textarea", { rows: o.rows || 3, maxlength: o.max || 20000, placeholder: o.placeholder })
      : el("input", { maxlength: o.max || 2000, placeholder: o.placeholder, inputmode: o.inputmode });
    input.value = obj[key] === undefined || obj[key] === null ? "" : String(obj[key]);
    input.addEventListener("input", () => { obj[key] = input.value; sync(); });
    return field(label, path, input, o.help);
  }
  function choice(obj, key, label, path, list, opts) {
    const o = opts || {};
    const select = el("select", {}, optionsOf(list, obj[key] || "", o.blank));
    select.addEventListener("change", () => {
      obj[key] = select.value;
      sync();
      if (o.rerender) render();
    });
    return field(label, path, select, o.help);
  }
  function check(obj, key, label, path) {
    const box = el("input", { type: "checkbox", checked: !!obj[key] });
    box.id = idOf(path);
    box.dataset.path = path;
    box.addEventListener("change", () => { obj[key] = box.checked; sync(); });
    return el("div", { className: "check" }, box, el("label", { for: box.id, text: label }));
  }
  function button(label, onclick, attrs) {
    return el("button", Object.assign({ type: "button", onclick: (e) => { e.preventDefault(); onclick(); } }, attrs || {}), label);
  }

  // --- key/value text ("Name: value" per line) --------------------------------------------
  function pairsText(obj) {
    return Object.entries(obj || {}).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join("\n");
  }
  function parsePairs(textValue, typed) {
    const out = {};
    String(textValue || "").split("\n").forEach((line) => {
      const at = line.indexOf(":");
      if (at < 1) return;
      const key = line.slice(0, at).trim();
      let value = line.slice(at + 1).trim();
      if (typed) { try { value = JSON.parse(value); } catch (e) { /* a plain string */ } }
      if (key) out[key] = value;
    });
    return out;
  }
  function pairs(obj, key, label, path, typed, help) {
    const textKey = `_${key}_text`;
    if (obj[textKey] === undefined) obj[textKey] = pairsText(obj[key]);
    const area = el("textarea", { rows: 3, maxlength: 20000, placeholder: "Name: value" });
    area.value = obj[textKey];
    area.addEventListener("input", () => { obj[textKey] = area.value; obj[key] = parsePairs(area.value, typed); sync(); });
    return field(label, path, area, help);
  }

  // --- conditions ----------------------------------------------------------------------------
  function conditionValueText(cond) {
    if (Array.isArray(cond.value)) return cond.value.join(", ");
    return cond.value === undefined || cond.value === null ? "" : String(cond.value);
  }
  function typedValue(cond, raw) {
    if (cond.op === "in" || cond.op === "not_in") {
      return raw.split(",").map((s) => s.trim()).filter((s) => s).map((s) => (cond.field === "escalation_level" && /^-?\d+$/.test(s) ? Number(s) : s));
    }
    if (cond.field === "escalation_level" && /^-?\d+$/.test(raw.trim())) return Number(raw.trim());
    return raw;
  }
  function valueChoices(fieldName) {
    if (fieldName === "severity") return lookups.severities.map((s) => ({ value: s, label: s }));
    if (fieldName === "urgency") return [{ value: "high", label: "high" }, { value: "low", label: "low" }];
    if (fieldName === "service_id") return lookups.services;
    if (fieldName === "team_id") return lookups.teams;
    return [];
  }
  function conditionRow(cond, path, list, index) {
    const knownField = lookups.fields.some((f) => f.value === cond.field);
    const isLabel = String(cond.field || "").startsWith(LABEL_PREFIX);
    const fieldSelect = el("select", {}, optionsOf(lookups.fields.concat([{ value: LABEL_PREFIX, label: "alert label…" }]),
      isLabel ? LABEL_PREFIX : (knownField ? cond.field : cond.field || ""), "— field —"));
    fieldSelect.addEventListener("change", () => {
      cond.field = fieldSelect.value === LABEL_PREFIX ? LABEL_PREFIX : fieldSelect.value;
      sync();
      render();
    });
    const row = el("div", { className: "row condition", "data-condition": path });
    row.append(field("Field", `${path}.field`, fieldSelect));
    if (isLabel) {
      const labelName = el("input", { maxlength: 200, placeholder: "label name, e.g. env" });
      labelName.value = cond.field.slice(LABEL_PREFIX.length);
      labelName.addEventListener("input", () => { cond.field = LABEL_PREFIX + labelName.value.trim(); sync(); });
      const wrap = field("Label", `${path}.label`, labelName);
      row.append(wrap);
    }
    row.append(choice(cond, "op", "Operator", `${path}.op`, lookups.ops, { rerender: true }));
    if (cond._value_text === undefined) cond._value_text = conditionValueText(cond);
    const value = el("input", { maxlength: 2000, placeholder: cond.op === "in" || cond.op === "not_in" ? "a, b, c" : "" });
    const suggestions = valueChoices(cond.field);
    if (suggestions.length) {
      const listId = idOf(`${path}.value`) + "-choices";
      value.setAttribute("list", listId);
      row.append(el("datalist", { id: listId }, suggestions.map((s) => el("option", { value: s.value !== undefined ? s.value : s.id, label: s.label || s.name }))));
    }
    value.value = cond._value_text;
    value.addEventListener("input", () => { cond._value_text = value.value; cond.value = typedValue(cond, value.value); sync(); });
    row.append(field("Value", `${path}.value`, value));
    row.append(button("Remove condition", () => { list.splice(index, 1); sync(); render(); }, { className: "link danger", "aria-label": `Remove condition ${index + 1}` }));
    return row;
  }
  function conditionList(list, path, title) {
    const box = el("fieldset", { className: "conditions", "data-path": path });
    box.append(el("legend", { text: title }));
    if (!list.length) box.append(el("p", { className: "muted small", text: "No conditions: it always holds." }));
    list.forEach((cond, i) => box.append(conditionRow(cond, `${path}.${i}`, list, i)));
    box.append(button("Add condition", () => {
      list.push({ field: "severity", op: "eq", value: "critical" });
      sync();
      render(`${path}.${list.length - 1}.field`);
    }, { "data-add-condition": path }));
    return box;
  }

  // --- steps ---------------------------------------------------------------------------------
  function blankStep(type) {
    switch (type) {
      case "webhook": return { type, url: "https://", method: "POST", headers: { "Content-Type": "application/json" }, body: '{"incident": {{ incident.number }}, "title": {{ incident.title | tojson }}}' };
      case "slack_message": return { type, channel: "#incidents", text: "{{ incident.title }} ({{ incident.url }})" };
      case "jira_issue": return { type, connection_id: "", project_key: "", issue_type: "Bug", summary: "[{{ incident.severity }}] {{ incident.title }}", description: "{{ incident.url }}" };
      case "linear_issue": return { type, connection_id: "", team_id: "", title: "{{ incident.title }}", description: "{{ incident.url }}" };
      case "add_note": return { type, body: "" };
      case "page": return { type, targets: [] };
      case "set_severity": return { type, severity: "critical" };
      case "status_page_update": return { type, status_page_id: "", status: "investigating", body: "We are looking into {{ incident.title }}." };
      case "run_runbook": return { type, runbook_id: "", parameters: {} };
      case "wait": return { type, duration: "PT10M" };
      case "escalate": return { type };
      case "resolve": return { type, note: "Resolved by automation." };
      case "if": return { type, conditions: [], then: [], else: [] };
      default: return { type };
    }
  }
  function connectionsOf(kinds) {
    return lookups.connections.filter((c) => kinds.includes(c.type)).map((c) => ({ value: c.id, label: `${c.name} (${c.type})` }));
  }
  function targetRows(step, path) {
    const box = el("fieldset", { className: "inner", "data-path": `${path}.targets` });
    box.append(el("legend", { text: "Page these" }));
    if (!Array.isArray(step.targets)) step.targets = [];
    step.targets.forEach((target, i) => {
      const choices = { user: lookups.users, schedule: lookups.schedules, team: lookups.teams }[target.type] || [];
      box.append(el("div", { className: "row" },
        choice(target, "type", "Kind", `${path}.targets.${i}.type`, lookups.page_target_types, { rerender: true }),
        choice(target, "id", "Who", `${path}.targets.${i}.id`, choices, { blank: "— choose —" }),
        button("Remove", () => { step.targets.splice(i, 1); sync(); render(); }, { className: "link danger", "aria-label": `Remove target ${i + 1}` })));
    });
    box.append(button("Add target", () => { step.targets.push({ type: "user", id: "" }); sync(); render(); }));
    return box;
  }
  function stepFields(step, path) {
    const parts = [];
    switch (step.type) {
      case "webhook": {
        parts.push(text(step, "url", "URL", `${path}.url`, { max: 2000, inputmode: "url" }));
        parts.push(choice(step, "method", "Method", `${path}.method`, ["POST", "PUT", "PATCH", "GET", "DELETE"]));
        parts.push(pairs(step, "headers", "Headers (one per line, Name: value)", `${path}.headers`, false));
        parts.push(text(step, "body", "Body (template)", `${path}.body`, { multiline: true, rows: 4 }));
        const auth = step.auth || { type: "", connection_id: "" };
        const authType = el("select", {}, optionsOf([
          { value: "hmac", label: "HMAC signature" }, { value: "basic", label: "basic" },
          { value: "oauth2_client_credentials", label: "OAuth2 client credentials" }], auth.type || "", "none"));
        authType.addEventListener("change", () => {
          if (authType.value) step.auth = { type: authType.value, connection_id: (step.auth && step.auth.connection_id) || "" };
          else delete step.auth;
          sync();
          render();
        });
        parts.push(field("Authentication", `${path}.auth.type`, authType));
        if (step.auth) {
          const kind = { hmac: "hmac", basic: "basic", oauth2_client_credentials: "oauth2" }[step.auth.type];
          parts.push(choice(step.auth, "connection_id", "Auth connection", `${path}.auth.connection_id`, connectionsOf([kind]), { blank: "— choose —" }));
        }
        break;
      }
      case "slack_message":
        parts.push(text(step, "channel", "Channel", `${path}.channel`, { max: 200, placeholder: "#incidents or C0123" }));
        parts.push(text(step, "text", "Text (template)", `${path}.text`, { multiline: true }));
        break;
      case "jira_issue":
        parts.push(choice(step, "connection_id", "Jira connection", `${path}.connection_id`, connectionsOf(["jira"]), { blank: "— choose —" }));
        parts.push(text(step, "project_key", "Project key", `${path}.project_key`, { max: 50 }));
        parts.push(text(step, "issue_type", "Issue type", `${path}.issue_type`, { max: 100 }));
        parts.push(text(step, "summary", "Summary (template)", `${path}.summary`));
        parts.push(text(step, "description", "Description (template)", `${path}.description`, { multiline: true }));
        break;
      case "linear_issue":
        parts.push(choice(step, "connection_id", "Linear connection", `${path}.connection_id`, connectionsOf(["linear"]), { blank: "— choose —" }));
        parts.push(text(step, "team_id", "Linear team id", `${path}.team_id`, { max: 200 }));
        parts.push(text(step, "title", "Title (template)", `${path}.title`));
        parts.push(text(step, "description", "Description (template)", `${path}.description`, { multiline: true }));
        break;
      case "add_note":
        parts.push(text(step, "body", "Note (template)", `${path}.body`, { multiline: true }));
        break;
      case "page":
        parts.push(targetRows(step, path));
        break;
      case "set_severity":
        parts.push(choice(step, "severity", "Severity", `${path}.severity`, lookups.severities));
        break;
      case "status_page_update":
        parts.push(choice(step, "status_page_id", "Status page", `${path}.status_page_id`, lookups.status_pages, { blank: "— choose —" }));
        parts.push(choice(step, "status", "Status", `${path}.status`, lookups.status_page_statuses));
        parts.push(text(step, "body", "Message (template)", `${path}.body`, { multiline: true }));
        break;
      case "run_runbook":
        parts.push(choice(step, "runbook_id", "Runbook", `${path}.runbook_id`, lookups.runbooks, { blank: "— choose —" }));
        parts.push(pairs(step, "parameters", "Parameters (one per line, name: value)", `${path}.parameters`, true));
        break;
      case "escalate":
        parts.push(el("p", { className: "muted small", text: "Escalates the incident to its next level." }));
        break;
      case "resolve":
        parts.push(text(step, "note", "Note (template, optional)", `${path}.note`, { multiline: true }));
        break;
      case "wait":
        parts.push(text(step, "duration", "Wait for (ISO 8601, e.g. PT10M)", `${path}.duration`, { max: 50 }));
        break;
      case "if":
        if (!Array.isArray(step.conditions)) step.conditions = [];
        if (!Array.isArray(step.then)) step.then = [];
        if (!Array.isArray(step.else)) step.else = [];
        parts.push(conditionList(step.conditions, `${path}.conditions`, "If all of these hold"));
        parts.push(stepList(step.then, `${path}.then`, "Then"));
        parts.push(stepList(step.else, `${path}.else`, "Else"));
        break;
      default:
        parts.push(el("p", { className: "muted", text: `Unknown step type ${step.type}: edit the JSON.` }));
    }
    return parts;
  }
  function stepBox(step, path, list, index, where) {
    const typeLabel = (lookups.step_types.find((t) => t.value === step.type) || { label: step.type }).label;
    const box = el("fieldset", { className: "step", "data-step": path, "data-path": path });
    box.append(el("legend", { text: `Step ${index + 1}: ${typeLabel}` }));
    const typeSelect = el("select", {}, optionsOf(lookups.step_types, step.type));
    typeSelect.addEventListener("change", () => { list[index] = blankStep(typeSelect.value); sync(); render(`${path}.type`); });
    box.append(el("div", { className: "row step-head" },
      field("Type", `${path}.type`, typeSelect),
      button("↑", () => move(list, index, -1, path), { "aria-label": `Move ${where}step ${index + 1} up`, disabled: index === 0 }),
      button("↓", () => move(list, index, 1, path), { "aria-label": `Move ${where}step ${index + 1} down`, disabled: index === list.length - 1 }),
      button("Remove step", () => { list.splice(index, 1); sync(); render(); }, { className: "link danger", "aria-label": `Remove ${where}step ${index + 1} (${typeLabel})` })));
    stepFields(step, path).forEach((p) => box.append(p));
    if (step.type !== "if") {
      box.append(check(step, "run_to_completion", "Run to completion even when the incident resolves", `${path}.run_to_completion`));
    }
    return box;
  }
  function move(list, index, delta, path) {
    const to = index + delta;
    if (to < 0 || to >= list.length) return;
    [list[index], list[to]] = [list[to], list[index]];
    sync();
    const parent = path.slice(0, path.lastIndexOf("."));
    render(`${parent}.${to}.type`);
    announce(`Step moved to position ${to + 1}`);
  }
  function stepList(list, path, title) {
    const box = el("fieldset", { className: "steps", "data-path": path });
    box.append(el("legend", { text: title }));
    if (!list.length) box.append(el("p", { className: "muted small", text: "No steps." }));
    const where = path === "steps" ? "" : `${title} `;
    list.forEach((step, i) => box.append(stepBox(step, `${path}.${i}`, list, i, where)));
    const adder = el("select", { "aria-label": `Type of the new step (${title})` }, optionsOf(lookups.step_types, "webhook"));
    adder.id = idOf(path) + "-new";
    box.append(el("div", { className: "row" }, adder, button("Add step", () => {
      list.push(blankStep(adder.value));
      sync();
      render(`${path}.${list.length - 1}.type`);
    }, { "data-add-step": path, "aria-label": `Add step to ${title}` })));
    return box;
  }

  // --- the whole form ------------------------------------------------------------------------
  function render(focusPath) {
    if (!model.trigger || typeof model.trigger !== "object") model.trigger = { event: "incident.triggered" };
    if (!Array.isArray(model.conditions)) model.conditions = [];
    if (!Array.isArray(model.steps)) model.steps = [];
    root.replaceChildren();
    root.append(text(model, "name", "Name", "name", { max: 200 }));
    root.append(check(model, "enabled", "Enabled", "enabled"));
    root.append(check(model, "run_once_per_incident", "Run once per incident (otherwise on every matching event)", "run_once_per_incident"));
    const trigger = el("fieldset", { className: "trigger", "data-path": "trigger" }, el("legend", { text: "When" }));
    trigger.append(choice(model.trigger, "event", "Event", "trigger.event", lookups.events, { rerender: true }));
    if (model.trigger.event === "incident.unacknowledged") {
      trigger.append(text(model.trigger, "after", "Unacknowledged for (ISO 8601, e.g. PT30M)", "trigger.after", { max: 50 }));
    }
    root.append(trigger);
    root.append(conditionList(model.conditions, "conditions", "Only if all of these hold"));
    root.append(stepList(model.steps, "steps", "Steps, in order"));
    needs.forEach((need) => {
      const target = targetFor(need.path);
      if (!target || valueAt(model, need.path) !== need.original) return;
      target.insertAdjacentElement("afterend", el("p", { className: "need small", "data-need": need.path, text: "Fill this in for your setup." }));
    });
    if (focusPath) {
      const target = root.querySelector(`[data-path="${CSS.escape(focusPath)}"]`);
      if (target && target.focus) target.focus();
    }
  }

  function clean(value) {
    if (Array.isArray(value)) return value.map(clean);
    if (!value || typeof value !== "object") return value;
    const out = {};
    Object.entries(value).forEach(([k, v]) => { if (!k.startsWith("_")) out[k] = clean(v); });
    // A condition's value follows its operator as it is now (`in` takes a list).
    if (value.op !== undefined && value._value_text !== undefined) out.value = typedValue(value, value._value_text);
    return out;
  }
  function serialise() {
    const out = clean(model);
    if (out.trigger && (out.trigger.event !== "incident.unacknowledged" || !out.trigger.after)) delete out.trigger.after;
    return out;
  }
  function sync() { source.value = JSON.stringify(serialise(), null, 2); }
  window.automationBuilder = { serialise };

  function announce(message) {
    const live = document.getElementById("builder-status");
    if (live) live.textContent = message;
  }

  // --- errors at the fields they name -----------------------------------------------------------
  function clearErrors() {
    form.querySelectorAll("[data-inline-error]").forEach((n) => n.remove());
    form.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
  }
  function targetFor(name) {
    // `body.steps.0.webhook.url` (a tagged union's tag in the path) → `steps.0.url`.
    let parts = String(name || "").replace(/\[(\d+)\]/g, ".$1").split(".").filter((p) => p !== "");
    if (parts[0] === "body") parts = parts.slice(1);
    parts = parts.filter((p, i) => !(STEP_TYPES.includes(p) && i > 0 && /^\d+$/.test(parts[i - 1]) && p !== "if"));
    for (let n = parts.length; n > 0; n--) {
      const found = root.querySelector(`[data-path="${CSS.escape(parts.slice(0, n).join("."))}"]`);
      if (found) return found;
    }
    return null;
  }
  function showProblem(problem) {
    const loose = [];
    const errors = problem.errors || [];
    errors.forEach((error, n) => {
      const target = targetFor(error.field);
      if (!target) { loose.push(error.field ? `${error.field}: ${error.message}` : error.message); return; }
      const note = el("p", { className: "field-error", id: `inline-error-${n}`, text: error.field ? `${error.message} (${error.field})` : error.message });
      note.dataset.inlineError = "";
      target.setAttribute("aria-invalid", "true");
      target.setAttribute("aria-describedby", note.id);
      if (target.tagName === "FIELDSET") target.querySelector("legend").insertAdjacentElement("afterend", note);
      else target.insertAdjacentElement("afterend", note);
    });
    if (!errors.length && problem.detail) loose.push(problem.detail);
    const summary = el("div", { className: "banner error", role: "alert", id: "form-errors" });
    summary.dataset.inlineError = "";
    summary.append(el("p", { text: `Not saved: ${problem.title || "please check your input"}.` }));
    const items = el("ul");
    errors.forEach((e) => items.append(el("li", { text: e.field ? `${e.field}: ${e.message}` : e.message })));
    loose.filter((l) => !errors.some((e) => `${e.field}: ${e.message}` === l)).forEach((l) => items.append(el("li", { text: l })));
    summary.append(items);
    form.prepend(summary);
    const first = form.querySelector("[aria-invalid=true]");
    if (first) first.focus();
    else summary.scrollIntoView();
  }

  form.addEventListener("submit", async (event) => {
    sync();
    if (event.submitter && event.submitter.hasAttribute("data-dry-run")) {
      event.stopPropagation(); // a plain post of the draft to the dry run, in a new tab
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    clearErrors();
    const buttons = form.querySelectorAll("button[type=submit]");
    buttons.forEach((b) => { b.disabled = true; });
    let response;
    try {
      response = await fetch(form.action, {
        method: "POST",
        headers: { Accept: "application/problem+json, text/html" },
        body: new URLSearchParams(new FormData(form)),
      });
    } catch (e) {
      showProblem({ title: "Offline", detail: "the network is unreachable; try again" });
      buttons.forEach((b) => { b.disabled = false; });
      return;
    }
    if ((response.headers.get("content-type") || "").includes("problem+json")) {
      showProblem(await response.json());
      buttons.forEach((b) => { b.disabled = false; });
    } else {
      window.location.assign(response.url);
    }
  }, true);

  // The JSON stays reachable (and is what gets posted); the builder is the way in.
  source.addEventListener("change", () => {
    try { model = JSON.parse(source.value); render(); } catch (e) { /* finish typing first */ }
  });
  document.getElementById("json-editor").removeAttribute("open");
  root.hidden = false;
  render();
  sync();
})();
