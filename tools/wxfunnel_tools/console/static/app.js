// The operator console: hash-routed views over the admin API, reached through the local console server at /api.
// No build step and no libraries: the DOM is built with h(), the chart is drawn as inline SVG.
"use strict";

(function () {
  const I18N = window.WXF_I18N;
  const STORAGE = { lang: "wxfunnel.console.lang", app: "wxfunnel.console.app", zone: "wxfunnel.console.zone" };
  const DEFAULT_APP = "demo-oa";
  const POLL_MS = 1000;
  // The chart's series: the three numbers an operator watches per day. Colour and dash both tell them apart.
  const SERIES = [
    { key: "new_followers", cls: "series-new" },
    { key: "scans", cls: "series-scans" },
    { key: "unfollows", cls: "series-unfollows" },
  ];
  const TOTALS = ["new_followers", "returning_followers", "scans", "unfollows", "net", "referrals"];

  let lang = load(STORAGE.lang) === "en" ? "en" : "zh";
  let cleanups = []; // run when leaving a view: stop polling, revoke object URLs, drop listeners
  let firstRender = true;

  // --- small helpers --------------------------------------------------------------------------------------------

  function load(key) {
    try {
      return localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }

  function save(key, value) {
    try {
      localStorage.setItem(key, value);
    } catch (e) {
      // Storage can be disabled (private mode): the console still works, it only forgets the choice.
    }
  }

  function t(key, vars) {
    let text = I18N[lang][key];
    if (text === undefined) text = I18N.zh[key] !== undefined ? I18N.zh[key] : key;
    if (vars) text = text.replace(/\{(\w+)\}/g, (m, name) => (name in vars && vars[name] !== undefined ? String(vars[name]) : m));
    return text;
  }

  function hasText(key) {
    return I18N[lang][key] !== undefined || I18N.zh[key] !== undefined;
  }

  function h(tag, attrs, ...children) {
    const svg = tag.startsWith("svg:");
    const el = svg
      ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
      : document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
      else if (value === true) el.setAttribute(name, "");
      else el.setAttribute(name, String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
    return el;
  }

  // replaceChildren() would print a skipped (null) child as the text "null".
  function put(el, ...children) {
    el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  }

  let uid = 0;
  function nextId(prefix) {
    uid += 1;
    return `${prefix}-${uid}`;
  }

  function currentApp() {
    return load(STORAGE.app) || DEFAULT_APP;
  }

  function enc(value) {
    return encodeURIComponent(value);
  }

  // The account's time zone, from GET /apps (or a statistics answer's "time_zone") and remembered per app, so
  // times are shown on the account's clock, as its days are, with the zone named; unknown, times are UTC.
  const zones = {};

  function rememberZone(app, zone) {
    if (!app || !zone || zones[app] === zone) return;
    zones[app] = zone;
    save(`${STORAGE.zone}.${app}`, zone);
  }

  function zoneOf(app) {
    return (app && (zones[app] || load(`${STORAGE.zone}.${app}`))) || null;
  }

  // The zone a time of `app` is shown in: the account's when known and known to this browser, else UTC.
  function clockOf(app) {
    const zone = zoneOf(app);
    if (zone) {
      try {
        new Intl.DateTimeFormat("en", { timeZone: zone });
        return zone;
      } catch (e) {
        // A zone this browser does not know: UTC, named as such.
      }
    }
    return "UTC";
  }

  // The zone's name in the page's language ("中国标准时间", "China Standard Time"), else its IANA id.
  function zoneName(zone) {
    try {
      const parts = new Intl.DateTimeFormat(t("html.lang"), { timeZone: zone, timeZoneName: "long" }).formatToParts(new Date());
      const name = parts.find((part) => part.type === "timeZoneName");
      if (name && name.value) return name.value;
    } catch (e) {
      // Unknown to this browser: its id below.
    }
    return zone;
  }

  // "Asia/Shanghai（中国标准时间）": how notes name an account's zone.
  function zoneTitle(zone) {
    const name = zoneName(zone);
    return name === zone ? zone : t("time.zone", { zone, name });
  }

  // "2026-11-21 09:05" on the account's clock (clockOf), "（中国标准时间）" added when `named`.
  function formatTime(iso, app, named) {
    if (!iso) return "";
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    const zone = clockOf(app);
    const parts = {};
    const format = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    for (const part of format.formatToParts(date)) parts[part.type] = part.value;
    const time = `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
    return named === false ? time : t("time.zoned", { time, zone: zoneName(zone) });
  }

  // A <time> on the account's clock; `named` false where a note or a column header names the zone already.
  function timeOf(iso, app, named) {
    if (!iso) return null;
    return h("time", { datetime: iso, title: `${iso} · ${clockOf(app)}`, "data-zone": clockOf(app) }, formatTime(iso, app, named));
  }

  function formatNumber(value) {
    return Number(value || 0).toLocaleString(lang === "zh" ? "zh-CN" : "en");
  }

  function isExpired(record) {
    return !record.permanent && record.expires_at && Date.parse(record.expires_at) < Date.now();
  }

  // A channel's page: the admin API's own path of the channel (links.self, its scene in URL form), so a scene
  // with "/" or "%" or Chinese characters is never put into a URL by the console itself.
  function channelHref(links, query) {
    const search = query ? `?${new URLSearchParams(query)}` : "";
    return `#${links.self.replace(/^\/qrcodes\//, "/channel/")}${search}`;
  }

  // The scene of a record in its URL form (the last segment of links.self), as the API's ?scene= takes it.
  function sceneSegment(links) {
    return links.self.split("/").pop();
  }

  // An API path with more query parameters; the path may already carry some (a past channel's ?generation=N).
  function withQuery(path, params) {
    const extra = String(new URLSearchParams(params));
    if (!extra) return path;
    return `${path}${path.includes("?") ? "&" : "?"}${extra}`;
  }

  function promoterHref(app, id, query) {
    const search = query ? `?${new URLSearchParams(query)}` : "";
    return `#/promoter/${enc(app)}/${enc(id)}${search}`;
  }

  function teamHref(app, team) {
    return `#/team/${enc(app)}/${enc(team)}`;
  }

  function announce(message) {
    const region = document.getElementById("announcer");
    region.textContent = "";
    window.setTimeout(() => {
      region.textContent = message;
    }, 50);
  }

  function go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  function newRequestId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    return `req-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  }

  // --- the admin API, through the console server --------------------------------------------------------------

  // A refusal as the API gave it: `rule` and `params` say what to tell the operator in their language (errorText),
  // `message` is the server's English text.
  class ApiError extends Error {
    constructor(status, error) {
      super(error.message || "");
      this.status = status;
      this.code = error.code || "";
      this.field = error.field || null;
      this.rule = error.rule || null;
      this.params = error.params && typeof error.params === "object" ? error.params : {};
      this.retryable = error.retryable;
    }
  }

  // A refusal found before asking the API, in the same terms as the API's.
  function localError(fieldName, rule, params) {
    return new ApiError(0, { code: "validation_error", field: fieldName, rule, params: params || {} });
  }

  // "渠道名称" for "channel.name"; a field without a label keeps its name ("模板数据 thing1" for "data.thing1").
  function fieldLabel(name) {
    const parts = String(name).split(".");
    for (let n = parts.length; n > 0; n -= 1) {
      const key = `label.${parts.slice(0, n).join(".")}`;
      if (hasText(key)) return [t(key), ...parts.slice(n)].join(" ");
    }
    return String(name);
  }

  // The catalogue's text of a rule, the field's own wording first; ".short" when a param it names is missing.
  function ruleText(rule, params, fieldName) {
    for (const key of [fieldName ? `rule.${rule}@${fieldName}` : null, `rule.${rule}`]) {
      if (!key || !hasText(key)) continue;
      const text = t(key, params);
      return /\{\w+\}/.test(text) && hasText(`${key}.short`) ? t(`${key}.short`, params) : text;
    }
    return null;
  }

  // What the operator is told about a failed call, in the page's language: by the error's rule (with its params),
  // else by its code (409, 410, 502, …), else the server's English message after a lead-in. `withField` names the
  // field first, for a message shown away from it.
  function errorText(error, withField) {
    if (!(error instanceof ApiError)) return String((error && error.message) || error);
    if (error.code === "network") return error.message;
    const message = error.message || t("error.http", { status: error.status });
    const rule = error.rule && error.rule !== "other" ? ruleText(error.rule, error.params, error.field) : null;
    if (rule) return withField && error.field ? t("label.join", { label: fieldLabel(error.field), text: rule }) : rule;
    if (error.code && hasText(`code.${error.code}`)) {
      const retry = error.retryable === true ? t("error.retryable") : error.retryable === false ? t("error.notRetryable") : "";
      return t(`code.${error.code}`, { message, retry });
    }
    if (error.rule === "other") return t("rule.other", { message });
    return message;
  }

  // `contentType` sends `body` as it is (a CSV file); otherwise it goes as JSON.
  async function request(method, path, body, accept, contentType) {
    const headers = { "X-Wxfunnel-Console": "1", Accept: accept || "application/json" };
    if (body !== undefined) headers["Content-Type"] = contentType || "application/json";
    try {
      return await fetch(`/api${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : contentType ? body : JSON.stringify(body),
        cache: "no-store",
        credentials: "same-origin",
      });
    } catch (e) {
      throw new ApiError(0, { code: "network", message: t("error.network") });
    }
  }

  async function api(method, path, body) {
    const response = await request(method, path, body);
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    if (!response.ok) throw failure(response.status, data);
    return { status: response.status, data };
  }

  // The error of a failed answer: the API's error body, or API Gateway's own {"message"} (a 403 before any function).
  function failure(status, data) {
    if (data && data.error) return new ApiError(status, data.error);
    if (data && typeof data.message === "string") return new ApiError(status, { message: t("error.gateway", { status, message: data.message }) });
    return new ApiError(status, { message: t("error.http", { status }) });
  }

  function errorBox(error) {
    return h("p", { class: "alert error", role: "alert" }, errorText(error, true));
  }

  // --- form fields and the API's validation errors ------------------------------------------------------------

  // One labelled control with its hint and its error slot; `field` is the API's dotted field name it answers for.
  function field(opts) {
    const id = opts.id || nextId("f");
    const hintId = opts.hint ? `${id}-hint` : null;
    const errorId = `${id}-error`;
    const control =
      opts.control ||
      h(opts.multiline ? "textarea" : "input", {
        id,
        name: opts.name || opts.field,
        type: opts.multiline ? null : opts.type || "text",
        value: opts.multiline ? null : opts.value,
        inputmode: opts.inputmode,
        autocomplete: opts.autocomplete || "off",
        min: opts.min,
        max: opts.max,
        step: opts.step,
        rows: opts.multiline ? 3 : null,
        placeholder: opts.placeholder,
      });
    if (!opts.control) control.id = id;
    if (opts.multiline && opts.value) control.value = opts.value;
    control.setAttribute("aria-describedby", [hintId, errorId].filter(Boolean).join(" "));
    return h(
      "div",
      { class: `field ${opts.class || ""}`.trim(), "data-field": opts.field, id: opts.wrapperId },
      h("label", { for: id }, opts.label),
      control,
      opts.hint ? h("p", { class: "hint", id: hintId }, opts.hint) : null,
      h("p", { class: "field-error", id: errorId, hidden: true }),
    );
  }

  // A group of radio buttons in a fieldset, with an error slot like field().
  function radios(opts) {
    const errorId = nextId("err");
    const group = h(
      "fieldset",
      { class: "field choices", "data-field": opts.field, "aria-describedby": errorId },
      h("legend", {}, opts.legend),
      opts.options.map((option) => {
        const id = nextId("r");
        return h(
          "div",
          { class: "choice" },
          h("input", {
            type: "radio",
            id,
            name: opts.name,
            value: option.value,
            checked: option.value === opts.value,
          }),
          h("label", { for: id }, option.label),
        );
      }),
      h("p", { class: "field-error", id: errorId, hidden: true }),
    );
    if (opts.onchange) group.addEventListener("change", opts.onchange);
    return group;
  }

  function clearErrors(form) {
    for (const slot of form.querySelectorAll(".field-error")) {
      slot.textContent = "";
      slot.hidden = true;
    }
    for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
    const summary = form.querySelector(".form-error");
    if (summary) {
      summary.textContent = "";
      summary.hidden = true;
    }
  }

  // The wrapper answering for an API error field: the field itself, else its nearest parent, else its first child.
  function fieldFor(form, name) {
    if (!name) return null;
    const wrappers = [...form.querySelectorAll("[data-field]")].filter((el) => !el.hidden && !el.closest("[hidden]"));
    const parts = name.split(".");
    for (let n = parts.length; n > 0; n -= 1) {
      const candidate = parts.slice(0, n).join(".");
      const match = wrappers.find((el) => el.dataset.field === candidate);
      if (match) return match;
    }
    return wrappers.find((el) => el.dataset.field.startsWith(`${name}.`)) || null;
  }

  // The error next to the field it is about (named when the slot is another field's, e.g. "channel" next to its
  // name), else in the form's summary; `unplaced` is the field for an error that names none (e.g. {scenes}).
  function showError(form, error, unplaced) {
    clearErrors(form);
    const api = error instanceof ApiError;
    if (api && !error.field && unplaced && unplaced[error.rule]) error.field = unplaced[error.rule];
    const fieldName = api ? error.field : null;
    const wrapper = api ? fieldFor(form, fieldName) : null;
    const summary = form.querySelector(".form-error");
    if (!wrapper) {
      summary.textContent = errorText(error, true);
      summary.hidden = false;
      summary.focus();
      return;
    }
    const slot = wrapper.querySelector(".field-error");
    slot.textContent = errorText(error, wrapper.dataset.field !== fieldName);
    slot.hidden = false;
    const control = wrapper.querySelector("input:checked, input, textarea, select");
    if (control) {
      for (const el of wrapper.querySelectorAll("input, textarea, select")) el.setAttribute("aria-invalid", "true");
      control.focus();
    }
    summary.textContent = t("error.summary");
    summary.hidden = false;
  }

  function formShell(attrs, ...children) {
    return h(
      "form",
      { novalidate: true, ...attrs },
      h("p", { class: "alert error form-error", role: "alert", tabindex: -1, hidden: true }),
      ...children,
    );
  }

  function periodForm(period, onsubmit) {
    const from = field({ field: "from", name: "from", label: t("field.from"), type: "date", value: period.from, id: "period-from" });
    const to = field({ field: "to", name: "to", label: t("field.to"), type: "date", value: period.to, id: "period-to" });
    const form = formShell(
      { class: "toolbar period no-print", "aria-label": t("stats.period") },
      from,
      to,
      h("button", { type: "submit", id: "period-show" }, t("action.show")),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const chosen = { from: form.elements.from.value, to: form.elements.to.value };
      if (chosen.from && chosen.to && chosen.from > chosen.to) {
        showError(form, localError("from", "date_order"));
        return;
      }
      onsubmit(chosen, form);
    });
    return form;
  }

  // --- the account picker, fed by GET /apps --------------------------------------------------------------------

  const OFFICIAL_ACCOUNTS = ["official_account"];

  // GET /apps, asked once per page load (again on the next page after a failure): the configured apps, their
  // kinds and time zones. `appsKnown` is the answer once there: {items} or {error}.
  let appsAnswer = null;
  let appsKnown = null;

  function loadApps() {
    if (!appsAnswer) {
      appsAnswer = api("GET", "/apps").then(
        ({ data }) => {
          const items = (data && data.items) || [];
          for (const item of items) rememberZone(item.name, item.time_zone);
          appsKnown = { items };
          return appsKnown;
        },
        (error) => {
          appsAnswer = null;
          appsKnown = { error };
          return appsKnown;
        },
      );
    }
    return appsAnswer;
  }

  function appsListed() {
    return Boolean(appsKnown && appsKnown.items);
  }

  // An app a page of `kinds` (null: any kind) can use: configured well enough to have a kind, and of those kinds.
  function usableApp(item, kinds) {
    return Boolean(item.kind) && (!kinds || kinds.includes(item.kind));
  }

  // The account a page shows: its ?app=, else the one chosen last, if the page can use it, else the first one it
  // can use (null when none); `replaced` names an ?app= that could not be used.
  function chooseApp(params, kinds) {
    const asked = params.get("app");
    const wanted = asked || currentApp();
    if (!appsListed()) return { app: wanted, kinds, replaced: null };
    const usable = appsKnown.items.filter((item) => usableApp(item, kinds));
    if (usable.some((item) => item.name === wanted)) return { app: wanted, kinds, replaced: null };
    const app = usable.length ? usable[0].name : null;
    return { app, kinds, replaced: asked && app ? asked : null };
  }

  function appOptionLabel(item, kinds) {
    if (!item.kind) return t("apps.option.broken", { name: item.name });
    const kind = t(`apps.kind.${item.kind}`);
    if (!usableApp(item, kinds)) return t("apps.option.wrongKind", { name: item.name, kind });
    return t("apps.option", { name: item.name, kind, zone: item.time_zone || "UTC" });
  }

  // The account field: a <select> of GET /apps, an app that cannot be used here listed disabled (a broken one with
  // its problem below), or, when the list cannot be read (an older stack), a text field saying so. The choice is
  // remembered; `onchange(app)` hears of it.
  function appField(choice, opts) {
    const id = opts.id;
    const label = t(choice.kinds ? "field.app" : "field.app.any");
    if (!appsListed()) {
      const reason = appsKnown && appsKnown.error ? errorText(appsKnown.error) : t("loading");
      const wrapper = field({ field: "app", name: "app", id, label, value: choice.app || "", hint: t("apps.fallback", { reason }) });
      wrapper.classList.add("app-fallback");
      wrapper.querySelector("input").addEventListener("change", (event) => {
        const value = event.target.value.trim() || DEFAULT_APP;
        save(STORAGE.app, value);
        if (opts.onchange) opts.onchange(value);
      });
      return wrapper;
    }
    const select = h(
      "select",
      { id, name: "app", class: "app-picker" },
      choice.app ? null : h("option", { value: "", disabled: true, selected: true }, "—"),
      appsKnown.items.map((item) =>
        h(
          "option",
          { value: item.name, disabled: !usableApp(item, choice.kinds), selected: item.name === choice.app, "data-kind": item.kind || "broken" },
          appOptionLabel(item, choice.kinds),
        ),
      ),
    );
    const notes = [
      choice.replaced ? t("apps.replaced", { wanted: choice.replaced, app: choice.app }) : null,
      choice.app ? null : t("apps.none"),
      ...appsKnown.items.filter((item) => !item.kind).map((item) => t("apps.broken", { name: item.name, problem: item.problem || "" })),
    ].filter(Boolean);
    select.addEventListener("change", () => {
      save(STORAGE.app, select.value);
      if (opts.onchange) opts.onchange(select.value);
    });
    return field({ field: "app", id, label, control: select, hint: notes.length ? notes.join(" ") : null });
  }

  // A page's account toolbar: the picker (with a button to load what was typed when it is a text field).
  function appToolbar(choice, onchange) {
    const form = formShell({ class: "toolbar no-print", id: "app-toolbar" });
    const picker = appField(choice, { id: "app-input", onchange: appsListed() ? (value) => onchange(value, form) : null });
    form.append(picker);
    if (!appsListed()) form.append(h("button", { type: "submit", class: "secondary" }, t("channels.load")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = form.elements.app.value.trim() || DEFAULT_APP;
      save(STORAGE.app, value);
      onchange(value, form);
    });
    return form;
  }

  // --- statistics: totals and the SVG chart ------------------------------------------------------------------

  function totalsList(totals) {
    return h(
      "dl",
      { class: "totals", id: "totals" },
      TOTALS.map((key) =>
        h(
          "div",
          { class: `total total-${key}` },
          h("dt", {}, t(`stats.${key}`)),
          h("dd", { "data-total": key }, formatNumber(totals[key])),
        ),
      ),
    );
  }

  function niceScale(maxValue) {
    const raw = Math.max(maxValue, 1) / 4;
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    const step = Math.max(1, [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw));
    return { max: step * Math.max(1, Math.ceil(maxValue / step)), step };
  }

  // A multi-series line chart of `days`, sized to `width` pixels so its text stays readable at phone width.
  function lineChart(days, width, period) {
    const W = Math.max(280, Math.round(width));
    const H = W < 480 ? 200 : 260;
    const pad = { left: 36, right: 22, top: 12, bottom: 26 };
    const plotW = W - pad.left - pad.right;
    const plotH = H - pad.top - pad.bottom;
    const values = days.flatMap((day) => SERIES.map((s) => Number(day[s.key]) || 0));
    const scale = niceScale(Math.max(0, ...values));
    const n = days.length;
    const x = (i) => pad.left + (n <= 1 ? plotW / 2 : (i * plotW) / (n - 1));
    const y = (v) => pad.top + plotH * (1 - v / scale.max);
    const titleId = nextId("chart-title");
    const descId = nextId("chart-desc");
    const svg = h(
      "svg:svg",
      {
        class: "chart",
        id: "stats-chart",
        width: W,
        height: H,
        viewBox: `0 0 ${W} ${H}`,
        role: "img",
        "aria-labelledby": `${titleId} ${descId}`,
        "data-days": n,
      },
      h("svg:title", { id: titleId }, t("stats.chart")),
      h("svg:desc", { id: descId }, t("stats.chart.desc", { from: period.from, to: period.to, days: n })),
    );
    for (let v = 0; v <= scale.max; v += scale.step) {
      svg.append(
        h("svg:line", { class: "grid", x1: pad.left, x2: W - pad.right, y1: y(v), y2: y(v) }),
        h("svg:text", { class: "axis", x: pad.left - 6, y: y(v) + 4, "text-anchor": "end" }, String(v)),
      );
    }
    const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(plotW / 58))));
    // A label every `every` days, counted back from the last day (the one an operator looks at first).
    const labelled = (i) => (n - 1 - i) % every === 0;
    days.forEach((day, i) => {
      if (!labelled(i)) return;
      svg.append(h("svg:text", { class: "axis", x: x(i), y: H - 8, "text-anchor": "middle" }, String(day.date).slice(5)));
    });
    for (const series of SERIES) {
      const points = days.map((day, i) => [x(i), y(Number(day[series.key]) || 0)]);
      const d = points.map(([px, py], i) => `${i ? "L" : "M"}${px.toFixed(1)} ${py.toFixed(1)}`).join(" ");
      const group = h("svg:g", { class: `series ${series.cls}`, "data-series": series.key });
      group.append(h("svg:path", { d, fill: "none" }));
      if (n <= 62) {
        days.forEach((day, i) => {
          group.append(
            h(
              "svg:circle",
              { cx: points[i][0], cy: points[i][1], r: 3 },
              h("svg:title", {}, `${day.date} · ${t(`stats.${series.key}`)}: ${Number(day[series.key]) || 0}`),
            ),
          );
        });
      }
      svg.append(group);
    }
    return svg;
  }

  function legend(totals) {
    return h(
      "ul",
      { class: "legend" },
      SERIES.map((s) =>
        h("li", {}, h("span", { class: `swatch ${s.cls}`, "aria-hidden": "true" }), `${t(`stats.${s.key}`)} (${formatNumber(totals[s.key])})`),
      ),
    );
  }

  function dataTable(days) {
    return h(
      "details",
      { class: "data-table no-print" },
      h("summary", {}, t("stats.table")),
      h(
        "div",
        { class: "table-scroll" },
        h(
          "table",
          {},
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("stats.date")), TOTALS.map((k) => h("th", { scope: "col" }, t(`stats.${k}`))))),
          h(
            "tbody",
            {},
            days.map((day) =>
              h("tr", {}, h("th", { scope: "row" }, day.date), TOTALS.map((k) => h("td", {}, formatNumber(day[k])))),
            ),
          ),
        ),
      ),
    );
  }

  // Renders a stats answer (channel or app) into `box`: totals, legend, chart, data table.
  // The days are the account's local days: the period form shows the ones the answer covers; the zone is kept
  // for the times the console shows (formatTime).
  function showPeriod(data) {
    for (const [id, value] of [["period-from", data.from], ["period-to", data.to]]) {
      const input = document.getElementById(id);
      if (input && value) input.value = value;
    }
    rememberZone(data.app, data.time_zone);
  }

  function zoneNote(data) {
    return data.time_zone ? h("p", { class: "muted", id: "stats-zone" }, t("stats.zone", { zone: zoneTitle(data.time_zone) })) : null;
  }

  function renderStats(box, data, period) {
    const days = data.days || [];
    const chartBox = h("div", { class: "chart-box" });
    showPeriod(data);
    const zone = zoneNote(data);
    box.replaceChildren(...[zone, totalsList(data.totals || {}), legend(data.totals || {}), chartBox, dataTable(days)].filter(Boolean));
    if (!days.length) {
      chartBox.append(h("p", { class: "muted" }, t("stats.empty")));
      return;
    }
    const draw = () => chartBox.replaceChildren(lineChart(days, chartBox.clientWidth || 640, period));
    draw();
    let timer = null;
    const onResize = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(draw, 150);
    };
    window.addEventListener("resize", onResize);
    cleanups.push(() => window.removeEventListener("resize", onResize));
  }

  // The period in the address, if any; without one the API answers the account's last 30 local days.
  function periodFrom(params) {
    return { from: params.get("from") || "", to: params.get("to") || "" };
  }

  function periodQuery(period) {
    return new URLSearchParams(Object.entries(period).filter(([, value]) => value));
  }

  // Keeps a view's state (period, search) in the address so a reload or a shared link shows the same thing;
  // `page` is the view's element: a view the operator already left does not touch the address.
  function replaceQuery(params, page) {
    if (!page.isConnected) return;
    const [path] = location.hash.split("?");
    history.replaceState(null, "", `${path}?${params}`);
  }

  // --- views ---------------------------------------------------------------------------------------------------

  function heading(text) {
    return h("h1", { tabindex: -1 }, text);
  }

  function viewChannels(main, params) {
    const choice = chooseApp(params, OFFICIAL_ACCOUNTS);
    let app = choice.app;
    const query = params.get("q") || "";
    const search = field({
      field: "q",
      id: "channel-search",
      label: t("channels.search"),
      type: "search",
      value: query,
      hint: t("channels.search.hint"),
    });
    const list = h("ul", { class: "cards", id: "channel-list" });
    const count = h("p", { class: "muted", id: "channel-count", role: "status" });
    const more = h("button", { type: "button", class: "secondary", id: "channel-more", hidden: true }, t("channels.more"));
    const problem = h("div");
    let items = [];
    let nextToken = null;

    function render() {
      const needle = search.querySelector("input").value.trim().toLowerCase();
      const shown = items.filter((rec) => {
        if (!needle) return true;
        const channel = rec.channel || {};
        const referrer = channel.referrer || {};
        return [rec.scene, channel.name, channel.tag, channel.notes, referrer.name, referrer.openid, channel.promoter, channel.team]
          .filter(Boolean)
          .some((text) => String(text).toLowerCase().includes(needle));
      });
      list.replaceChildren(...shown.map(channelCard));
      if (!items.length) count.textContent = t("channels.empty");
      else if (!shown.length) count.textContent = t("channels.nomatch", { query: needle });
      else count.textContent = t("channels.count", { shown: shown.length, total: items.length });
      more.hidden = !nextToken;
    }

    async function loadPage(reset) {
      problem.replaceChildren();
      if (reset) {
        items = [];
        nextToken = null;
        count.textContent = t("loading");
      }
      const qs = new URLSearchParams({ app, limit: "50" });
      if (nextToken) qs.set("next_token", nextToken);
      try {
        const { data } = await api("GET", `/qrcodes?${qs}`);
        items = items.concat(data.items || []);
        nextToken = data.next_token || null;
        render();
      } catch (error) {
        count.textContent = "";
        problem.replaceChildren(errorBox(error));
      }
    }

    search.querySelector("input").addEventListener("input", () => {
      const next = new URLSearchParams({ app });
      const value = search.querySelector("input").value;
      if (value) next.set("q", value);
      replaceQuery(next, main);
      render();
    });
    more.addEventListener("click", () => loadPage(false));
    main.append(
      h(
        "div",
        { class: "page-head" },
        heading(t("channels.title")),
        h("a", { class: "button", href: "#/new" }, t("channels.create")),
      ),
      appToolbar(choice, (value) => {
        app = value;
        replaceQuery(new URLSearchParams({ app }), main);
        loadPage(true);
      }),
      search,
      problem,
      count,
      list,
      more,
    );
    return app ? loadPage(true) : null;
  }

  function fact(label, value) {
    if (value === null || value === undefined || value === "") return null;
    return h("div", { class: "fact" }, h("dt", {}, label), h("dd", {}, value));
  }

  function kindBadge(record) {
    const expired = isExpired(record);
    return h(
      "span",
      { class: `badge ${record.permanent ? "badge-permanent" : "badge-temporary"} ${expired ? "badge-expired" : ""}` },
      record.permanent ? t("kind.permanent") : t("kind.temporary"),
      expired ? ` · ${t("channel.expired")}` : "",
    );
  }

  // 启用 / 已停用 / 已退役: what a follow through the code does now (docs/admin-api.md, the channel lifecycle).
  function stateBadge(record) {
    const state = record.state || "active";
    return h("span", { class: `badge badge-state badge-${state}`, "data-state": state }, t(`state.${state}`));
  }

  function channelCard(record) {
    const channel = record.channel || {};
    const referrer = channel.referrer || {};
    return h(
      "li",
      { class: `card card-${record.state || "active"}`, "data-scene": record.scene, "data-state": record.state || "active" },
      h(
        "h2",
        { class: "card-title" },
        h("a", { href: channelHref(record.links) }, channel.name || t("channel.unnamed")),
        " ",
        kindBadge(record),
        " ",
        stateBadge(record),
      ),
      h(
        "dl",
        { class: "facts" },
        fact(t("channel.scene"), h("code", {}, record.scene)),
        fact(t("channel.tag"), channel.tag),
        channel.promoter
          ? fact(t("channel.promoter"), h("a", { href: promoterHref(record.app, channel.promoter) }, referrer.name || promoterFallbackName(channel.promoter)))
          : fact(t("channel.referrer"), referrer.name || referrer.openid),
        fact(t("channel.expires"), record.permanent ? t("channel.never") : timeOf(record.expires_at, record.app)),
      ),
    );
  }

  // The create form. Presets from the address: ?promoter=<id> (a new code for a promoter, from their page) and
  // ?scene=&kind=&scene_type= (a retired scene given to a new channel, from the retired channel's page).
  function viewNew(main, params) {
    const choice = chooseApp(params, OFFICIAL_ACCOUNTS);
    const app = choice.app || "";
    const presetKind = params.get("kind") === "permanent" ? "permanent" : "temporary";
    const presetPromoter = params.get("promoter") || "";
    const presetScene = params.get("scene") || "";
    const expire = field({
      field: "expire_seconds",
      name: "expire_days",
      id: "new-expire",
      label: t("new.expire"),
      type: "number",
      inputmode: "numeric",
      min: 1,
      max: 30,
      step: 1,
      value: "7",
      hint: t("new.expire.hint"),
      wrapperId: "new-expire-field",
    });
    expire.hidden = presetKind === "permanent";
    const kind = radios({
      field: "permanent",
      name: "kind",
      legend: t("new.kind"),
      value: presetKind,
      options: [
        { value: "temporary", label: t("new.kind.temporary") },
        { value: "permanent", label: t("new.kind.permanent") },
      ],
      onchange: () => {
        expire.hidden = form.elements.kind.value === "permanent";
      },
    });
    const sceneType = radios({
      field: "scene_type",
      name: "scene_type",
      legend: t("new.sceneType"),
      value: params.get("scene_type") === "int" ? "int" : "str",
      options: [
        { value: "str", label: t("new.sceneType.str") },
        { value: "int", label: t("new.sceneType.int") },
      ],
    });
    const submit = h("button", { type: "submit", id: "new-submit" }, t("new.submit"));
    const promoter = promoterField(app, { id: "new-promoter", value: presetPromoter, hint: t("new.promoter.hint") });
    const form = formShell(
      { id: "new-form", class: "stack" },
      appField(choice, { id: "new-app", onchange: (value) => promoter.suggest(value) }),
      h("div", { class: "row" }, kind, sceneType),
      field({ field: "scene", id: "new-scene", label: t("new.scene"), hint: t("new.scene.hint"), value: presetScene }),
      expire,
      h(
        "fieldset",
        { class: "group" },
        h("legend", {}, t("new.channel")),
        field({ field: "channel.name", id: "new-name", label: t("new.name") }),
        field({ field: "channel.welcome_message", id: "new-welcome", label: t("new.welcome"), multiline: true, hint: t("new.welcome.hint") }),
        field({ field: "channel.tag", id: "new-tag", label: t("new.tag") }),
        field({ field: "channel.notes", id: "new-notes", label: t("new.notes"), multiline: true }),
      ),
      h(
        "fieldset",
        { class: "group" },
        h("legend", {}, t("new.referrer")),
        promoter,
        field({ field: "channel.referrer.name", id: "new-referrer-name", label: t("new.referrerName") }),
        field({ field: "channel.referrer.openid", id: "new-referrer-openid", label: t("new.referrerOpenid") }),
      ),
      h("div", { class: "actions" }, submit),
    );

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const value = (name) => form.elements[name].value.trim();
      const permanent = form.elements.kind.value === "permanent";
      const rawScene = value("scene");
      const scene = form.elements.scene_type.value === "int" && /^-?\d+$/.test(rawScene) ? Number(rawScene) : rawScene;
      const body = { app: form.elements.app.value.trim(), permanent };
      if (rawScene !== "") body.scene = scene;
      if (!permanent && value("expire_days") !== "") {
        const days = Number(value("expire_days"));
        body.expire_seconds = Number.isFinite(days) ? Math.round(days * 86400) : value("expire_days");
      }
      const channel = {};
      for (const [key, name] of [["name", "new-name"], ["welcome_message", "new-welcome"], ["tag", "new-tag"], ["notes", "new-notes"], ["promoter", "new-promoter"]]) {
        const text = document.getElementById(name).value.trim();
        if (text) channel[key] = text;
      }
      const referrer = {};
      const referrerName = document.getElementById("new-referrer-name").value.trim();
      const referrerOpenid = document.getElementById("new-referrer-openid").value.trim();
      if (referrerName) referrer.name = referrerName;
      if (referrerOpenid) referrer.openid = referrerOpenid;
      if (Object.keys(referrer).length) channel.referrer = referrer;
      if (Object.keys(channel).length) body.channel = channel;
      submit.disabled = true;
      submit.textContent = t("new.submitting");
      try {
        const { data } = await api("POST", "/qrcodes", body);
        save(STORAGE.app, data.app);
        const outcome = data.reassigned ? "reassigned" : data.reused ? "reused" : "created";
        announce(t(`new.${outcome}`));
        go(channelHref(data.links, { [outcome]: "1" }));
      } catch (error) {
        showError(form, error);
      } finally {
        submit.disabled = false;
        submit.textContent = t("new.submit");
      }
    });
    const back = presetPromoter
      ? h("p", { class: "breadcrumb" }, h("a", { href: promoterHref(app, presetPromoter) }, `← ${t("promoter.back")}`))
      : null;
    const intro = presetPromoter
      ? h("p", { class: "alert info", id: "new-for-promoter" }, t("new.forPromoter", { id: presetPromoter }))
      : presetScene
        ? h("p", { class: "alert info", id: "new-reassign" }, t("new.reassign", { scene: presetScene }))
        : null;
    put(main, back, heading(t("new.title")), intro, form);
  }

  async function loadQrImage(figure, record) {
    const status = figure.querySelector(".qr-status");
    const image = figure.querySelector("img");
    const download = figure.querySelector(".qr-download");
    const path = record.links.image;
    let response;
    try {
      response = await request("GET", path, undefined, "image/jpeg");
    } catch (error) {
      status.replaceChildren(errorBox(error));
      return;
    }
    if (!response.ok) {
      status.replaceChildren(errorBox(await failureOf(response)));
      return;
    }
    const blob = await response.blob();
    const format = blob.type === "image/png" ? "png" : "jpg";
    const url = URL.createObjectURL(blob);
    cleanups.push(() => URL.revokeObjectURL(url));
    image.src = url;
    image.hidden = false;
    download.href = url;
    download.download = qrFileName(record, format);
    download.textContent = t("qr.download", { format: format === "png" ? "PNG" : "JPEG" });
    download.hidden = false;
    status.replaceChildren();
  }

  // Only what file systems refuse is replaced (Windows' \ / : * ? " < > |, control characters), and the dots and
  // spaces Windows drops at the end: Chinese, spaces and signs stay, so every channel's file has its own name.
  function fileSafe(text) {
    return String(text)
      .replace(/[\\/:*?"<>|\u0000-\u001f\u007f]/g, "_")
      .replace(/[. ]+$/, "")
      .trim();
  }

  // At most `max` bytes of UTF-8, cut between characters (file names are limited to 255 bytes).
  function clip(text, max) {
    const encoder = new TextEncoder();
    let out = "";
    for (const char of text) {
      if (encoder.encode(out + char).length > max) break;
      out += char;
    }
    return out;
  }

  // wxfunnel-<app>-<scene>-<channel name>.jpg, e.g. wxfunnel-demo-oa-春节海报-春季海报.jpg.
  function qrFileName(record, format) {
    const name = (record.channel || {}).name;
    const parts = ["wxfunnel", record.app, record.scene, name].filter(Boolean).map((part) => fileSafe(part)).filter(Boolean);
    return `${clip(parts.join("-"), 200)}.${format}`;
  }

  const CHANNEL_NOTICES = ["created", "reused", "reassigned", "saved", "disabled", "enabled", "retired"];

  async function viewChannel(main, params, app, segment) {
    const loading = h("p", { class: "muted" }, t("loading"));
    main.append(loading);
    let record;
    try {
      record = (await api("GET", `/qrcodes/${enc(app)}/${enc(segment)}`)).data;
    } catch (error) {
      main.replaceChildren(heading(segment), errorBox(error));
      return;
    }
    const channel = record.channel || {};
    const referrer = channel.referrer || {};
    const name = channel.name || t("channel.unnamed");
    const noticeKey = CHANNEL_NOTICES.find((key) => params.get(key));
    const fromForm = ["created", "reused", "reassigned"].includes(noticeKey);
    const notice = noticeKey ? t(fromForm ? `new.${noticeKey}` : `lifecycle.${noticeKey}.done`) : null;
    const figure = h(
      "figure",
      { class: "qr print-sheet", id: "qr" },
      h("p", { class: "qr-status", role: "status" }, t("qr.loading")),
      h("img", { id: "qr-image", alt: t("qr.alt", { name, scene: record.scene }), width: 258, height: 258, hidden: true }),
      h(
        "figcaption",
        {},
        h("strong", { class: "qr-name" }, name),
        h("span", { class: "qr-scene" }, `${t("channel.scene")}: ${record.scene}`),
        h("span", { class: "print-only" }, t("qr.scan")),
      ),
      h(
        "div",
        { class: "actions no-print" },
        h(
          "a",
          {
            class: "button qr-download",
            id: "qr-download",
            download: qrFileName(record, "jpg"),
            href: "#",
            hidden: true,
          },
          t("qr.download", { format: "JPEG" }),
        ),
        h("button", { type: "button", class: "secondary", id: "qr-print", onclick: () => window.print() }, t("qr.print")),
      ),
    );
    // Rebuilt once the statistics name the account's time zone, so the times are on the account's clock.
    const detailsOf = () =>
      h(
        "dl",
        { class: "facts details no-print" },
        fact(t("channel.scene"), h("code", {}, record.scene)),
        fact(t("new.kind"), kindBadge(record)),
        fact(t("channel.state"), stateBadge(record)),
        record.generation ? fact(t("channel.generation"), t("history.generation", { n: record.generation + 1 })) : null,
        fact(t("channel.expires"), record.permanent ? t("channel.never") : timeOf(record.expires_at, record.app)),
        fact(t("channel.created"), timeOf(record.created_at, record.app)),
        fact(t("channel.tag"), channel.tag),
        channel.promoter
          ? fact(t("channel.promoter"), h("a", { href: promoterHref(record.app, channel.promoter) }, referrer.name || promoterFallbackName(channel.promoter)))
          : fact(t("channel.referrer"), [referrer.name, referrer.openid].filter(Boolean).join(" · ")),
        channel.team ? fact(t("channel.team"), h("a", { href: teamHref(record.app, channel.team) }, channel.team)) : null,
        fact(t("channel.welcome"), channel.welcome_message),
        fact(t("channel.notes"), channel.notes),
        fact(t("channel.url"), record.url ? h("code", { class: "wrap" }, record.url) : null),
      );
    let details = detailsOf();
    const statsBox = h("div", { class: "stats", id: "stats", "aria-live": "polite" });
    const period = periodFrom(params);
    // The current channel's statistics, or a past channel's of this scene (its links.stats: ?generation=N).
    let statsPath = record.links.stats;
    const generationNote = h("div", { id: "stats-generation" });

    async function loadStats(chosen, form) {
      if (form) clearErrors(form);
      const qs = periodQuery(chosen);
      try {
        const { data } = await api("GET", withQuery(statsPath, qs));
        const zoneKnown = zoneOf(record.app);
        renderStats(statsBox, data, { from: data.from || chosen.from, to: data.to || chosen.to });
        if (!zoneKnown && zoneOf(record.app)) {
          const fresh = detailsOf();
          details.replaceWith(fresh);
          details = fresh;
        }
        if (statsPath === record.links.stats) replaceQuery(qs, main);
      } catch (error) {
        if (form) showError(form, error);
        else statsBox.replaceChildren(errorBox(error));
      }
    }

    function showPast(past) {
      statsPath = past.links.stats;
      const back = h("button", { type: "button", class: "secondary", id: "stats-current" }, t("history.back"));
      back.addEventListener("click", () => {
        statsPath = record.links.stats;
        generationNote.replaceChildren();
        loadStats(periodFrom(params), null);
        document.getElementById("stats-title").focus();
      });
      const pastName = (past.channel || {}).name || t("channel.unnamed");
      generationNote.replaceChildren(
        h("div", { class: "alert info" }, h("p", {}, t("history.viewing", { n: past.generation + 1, name: pastName })), back),
      );
      document.getElementById("stats-title").focus();
      return loadStats(lifePeriod(past), null);
    }

    const history = historySection(record, showPast);
    const followers = followersSection(record.app, { scene: sceneSegment(record.links) }, t("followers.ofChannel"));
    put(
      main,
      h("p", { class: "breadcrumb no-print" }, h("a", { href: `#/channels?app=${enc(record.app)}` }, `← ${t("nav.channels")}`)),
      heading(name),
      notice ? h("p", { class: "alert success", role: "status", id: "channel-notice" }, notice) : null,
      h("div", { class: "channel-top" }, figure, details),
      channelManage(record),
      h(
        "section",
        { class: "no-print", "aria-labelledby": "stats-title" },
        h("h2", { id: "stats-title", tabindex: -1 }, t("stats.title")),
        generationNote,
        periodForm(period, loadStats),
        statsBox,
        h(
          "p",
          {},
          h("a", { href: `#/reminders?${new URLSearchParams({ app: record.app, scene: record.scene })}` }, t("stats.remind")),
        ),
      ),
      channelExtras(record),
      history.section,
      followers.section,
    );
    await Promise.all([loadQrImage(figure, record), loadStats(period, null)]);
    await Promise.all([history.load(), followers.load()]);
  }

  function leaderboard(referrers) {
    if (!referrers.length) return h("p", { class: "muted" }, t("referrers.empty"));
    return h(
      "div",
      { class: "table-scroll" },
      h(
        "table",
        { id: "leaderboard" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, t("referrers.rank")),
            h("th", { scope: "col" }, t("referrers.name")),
            h("th", { scope: "col" }, t("referrers.channel")),
            h("th", { scope: "col", class: "num" }, t("referrers.referrals")),
          ),
        ),
        h(
          "tbody",
          {},
          referrers.map((row, i) =>
            h(
              "tr",
              {},
              h("td", {}, String(i + 1)),
              h("th", { scope: "row" }, row.name || "—", row.openid ? h("small", { class: "openid" }, row.openid) : null),
              h("td", {}, row.scene ? h("code", {}, row.scene) : "—"),
              h("td", { class: "num" }, formatNumber(row.referrals)),
            ),
          ),
        ),
      ),
    );
  }

  function channelTable(app, channels) {
    if (!channels.length) return null;
    const keys = ["new_followers", "scans", "unfollows", "net"];
    return h(
      "div",
      { class: "table-scroll" },
      h(
        "table",
        { id: "channel-totals" },
        h(
          "thead",
          {},
          h("tr", {}, h("th", { scope: "col" }, t("referrers.channel")), keys.map((k) => h("th", { scope: "col", class: "num" }, t(`stats.${k}`)))),
        ),
        h(
          "tbody",
          {},
          channels.map((row) =>
            h(
              "tr",
              {},
              h("th", { scope: "row" }, row.links ? h("a", { href: channelHref(row.links) }, row.name || row.scene) : row.name || row.scene, " ", h("code", {}, row.scene)),
              keys.map((k) => h("td", { class: "num" }, formatNumber((row.totals || {})[k]))),
            ),
          ),
        ),
      ),
    );
  }

  function viewReferrers(main, params) {
    const choice = chooseApp(params, OFFICIAL_ACCOUNTS);
    let app = choice.app;
    let period = periodFrom(params);
    const board = h("div", { id: "referrers" });
    const statsBox = h("div", { class: "stats", id: "stats" });
    const channelsBox = h("div");

    async function loadAll(form) {
      if (form) clearErrors(form);
      board.replaceChildren(h("p", { class: "muted" }, t("loading")));
      try {
        const { data } = await api("GET", `/channels/${enc(app)}/stats?${periodQuery(period)}`);
        board.replaceChildren(leaderboard(data.referrers || []));
        renderStats(statsBox, data, { from: data.from || period.from, to: data.to || period.to });
        channelsBox.replaceChildren(channelTable(app, data.channels || []) || "");
        replaceQuery(new URLSearchParams({ app, ...Object.fromEntries(periodQuery(period)) }), main);
      } catch (error) {
        board.replaceChildren();
        if (form) showError(form, error);
        else board.replaceChildren(errorBox(error));
      }
    }

    main.append(
      heading(t("referrers.title")),
      appToolbar(choice, (value, form) => {
        app = value;
        loadAll(form);
      }),
      periodForm(period, (chosen, form) => {
        period = chosen;
        loadAll(form);
      }),
      board,
      h("section", { "aria-labelledby": "all-title" }, h("h2", { id: "all-title" }, t("referrers.all")), statsBox),
      h("section", { "aria-labelledby": "per-channel-title" }, h("h2", { id: "per-channel-title" }, t("referrers.channels")), channelsBox),
    );
    return app ? loadAll(null) : board.replaceChildren();
  }

  function dataRow(list, key, value) {
    const keyId = nextId("data-key");
    const valueId = nextId("data-value");
    const row = h(
      "div",
      { class: "data-row" },
      h("div", { class: "field" }, h("label", { for: keyId }, t("reminders.data.key")), h("input", { id: keyId, class: "data-key", value: key || "", autocomplete: "off" })),
      h("div", { class: "field" }, h("label", { for: valueId }, t("reminders.data.value")), h("input", { id: valueId, class: "data-value", value: value || "", autocomplete: "off" })),
      h("button", { type: "button", class: "secondary remove" }, "×"),
    );
    const remove = row.querySelector(".remove");
    remove.addEventListener("click", () => {
      row.remove();
      renumber(list);
      const last = list.querySelector(".data-row:last-child .data-key");
      if (last) last.focus();
    });
    list.append(row);
    renumber(list);
    return row;
  }

  function renumber(list) {
    [...list.querySelectorAll(".data-row")].forEach((row, i) => {
      row.querySelector(".remove").setAttribute("aria-label", t("reminders.data.remove", { n: i + 1 }));
    });
  }

  // A reminder: to the followers of an Official Account's channels (a template message, with a link), or to the
  // users of a Mini Program who opted in on its cards (a subscribe message, with a page of the Mini Program).
  async function viewReminders(main, params) {
    const choice = chooseApp(params, null);
    let app = choice.app || "";
    const preselected = new Set(params.getAll("scene"));
    let requestId = newRequestId();
    const scenesErrorId = nextId("err");
    const scenesBox = h("div", { class: "checks", id: "reminder-scenes" });
    const scenes = h(
      "fieldset",
      { class: "field choices", "data-field": "scenes", "aria-describedby": scenesErrorId },
      h("legend", {}, t("reminders.scenes")),
      scenesBox,
      h("p", { class: "field-error", id: scenesErrorId, hidden: true }),
    );
    const cardNote = h("p", { class: "hint", id: "reminder-cards" }, t("reminders.cards"));
    const dataList = h("div", { class: "data-rows" });
    const dataErrorId = nextId("err");
    const data = h(
      "fieldset",
      { class: "field group", "data-field": "data", "aria-describedby": dataErrorId },
      h("legend", {}, t("reminders.data")),
      dataList,
      h("button", { type: "button", class: "secondary", id: "data-add", onclick: () => dataRow(dataList).querySelector("input").focus() }, t("reminders.data.add")),
      h("p", { class: "field-error", id: dataErrorId, hidden: true }),
    );
    dataRow(dataList, "thing1", "");
    const requestNote = h("p", { class: "hint", id: "request-id" }, t("reminders.request", { id: requestId }));
    const submit = h("button", { type: "submit", id: "reminder-submit" }, t("reminders.send"));
    const touch = h(
      "select",
      { id: "reminder-touch", name: "touch" },
      ["any", "first", "last"].map((value) => h("option", { value }, t(`reminders.touch.${value}`))),
    );
    const touchField = field({ field: "touch", id: "reminder-touch", label: t("reminders.touch"), control: touch });
    const urlField = field({ field: "url", id: "reminder-url", label: t("reminders.url"), type: "url", placeholder: "https://" });
    const pageField = field({ field: "page", id: "reminder-page", label: t("reminders.page"), hint: t("reminders.page.hint"), placeholder: "pages/…" });
    const prefixField = field({ field: "scene_prefix", id: "reminder-prefix", label: t("reminders.prefix"), hint: t("reminders.prefix.hint") });
    const form = formShell(
      { id: "reminder-form", class: "stack" },
      appField(choice, {
        id: "reminder-app",
        onchange: (value) => {
          app = value;
          showKind();
        },
      }),
      h(
        "fieldset",
        { class: "group" },
        h("legend", {}, t("reminders.audience")),
        scenes,
        cardNote,
        prefixField,
        touchField,
      ),
      field({ field: "template_id", id: "reminder-template", label: t("reminders.template") }),
      data,
      urlField,
      pageField,
      requestNote,
      h("div", { class: "actions" }, submit),
    );

    // Listed as a Mini Program by GET /apps (an app typed by hand is taken for an Official Account).
    function isMiniProgram() {
      return appsListed() && appsKnown.items.some((item) => item.name === app && item.kind === "mini_program");
    }

    function showKind() {
      const mini = isMiniProgram();
      scenes.hidden = mini;
      touchField.hidden = mini;
      urlField.hidden = mini;
      cardNote.hidden = !mini;
      pageField.hidden = !mini;
      prefixField.querySelector("label").textContent = t(mini ? "reminders.prefix.cards" : "reminders.prefix");
      prefixField.querySelector(".hint").textContent = t(mini ? "reminders.prefix.cards.hint" : "reminders.prefix.hint");
      if (!mini) return loadScenes();
      scenesBox.replaceChildren();
      return null;
    }

    async function loadScenes() {
      if (!app) {
        scenesBox.replaceChildren(h("p", { class: "muted" }, t("apps.none")));
        return;
      }
      scenesBox.replaceChildren(h("p", { class: "muted" }, t("loading")));
      const asked = app;
      try {
        const { data: page } = await api("GET", `/qrcodes?${new URLSearchParams({ app: asked, limit: "100" })}`);
        if (asked !== app) return;
        const items = page.items || [];
        if (!items.length) {
          scenesBox.replaceChildren(h("p", { class: "muted" }, t("reminders.scenes.none")));
          return;
        }
        scenesBox.replaceChildren(
          ...items.map((record) => {
            const id = nextId("scene");
            return h(
              "div",
              { class: "choice" },
              h("input", { type: "checkbox", id, name: "scenes", value: record.scene, checked: preselected.has(record.scene) }),
              h("label", { for: id }, `${(record.channel || {}).name || t("channel.unnamed")} `, h("code", {}, record.scene)),
            );
          }),
        );
      } catch (error) {
        if (asked === app) scenesBox.replaceChildren(errorBox(error));
      }
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const mini = isMiniProgram();
      const body = { request_id: requestId, app: form.elements.app.value.trim() };
      const chosen = mini ? [] : [...form.querySelectorAll("input[name=scenes]:checked")].map((el) => el.value);
      const prefix = form.elements.scene_prefix.value.trim();
      if (chosen.length) body.scenes = chosen;
      if (prefix) body.scene_prefix = prefix;
      if (!mini) body.touch = touch.value;
      body.template_id = form.elements.template_id.value.trim();
      body.data = {};
      for (const row of dataList.querySelectorAll(".data-row")) {
        const key = row.querySelector(".data-key").value.trim();
        if (key) body.data[key] = row.querySelector(".data-value").value;
      }
      const link = (mini ? form.elements.page : form.elements.url).value.trim();
      if (link) body[mini ? "page" : "url"] = link;
      submit.disabled = true;
      submit.textContent = t("reminders.sending");
      try {
        const { data: created } = await api("POST", "/notifications", body);
        requestId = newRequestId();
        go(`#/reminders/${enc(created.id)}`);
      } catch (error) {
        showError(form, error, { exactly_one: mini ? "scene_prefix" : "scenes" });
      } finally {
        submit.disabled = false;
        submit.textContent = t("reminders.send");
      }
    });
    main.append(heading(t("reminders.title")), form);
    await showKind();
  }

  function viewNotification(main, params, id) {
    const box = h("div", { id: "notification", "aria-live": "polite" }, h("p", { class: "muted" }, t("loading")));
    let timer = null;
    let stopped = false;
    cleanups.push(() => {
      stopped = true;
      window.clearTimeout(timer);
    });

    function render(n) {
      // Every recipient ends sent, failed or skipped (no longer following): the bar fills when all are settled.
      const done = Number(n.sent || 0) + Number(n.failed || 0) + Number(n.skipped || 0);
      const audience = Number(n.audience || 0);
      const reasons = Object.entries(n.failed_reasons || {});
      put(
        box,
        h(
          "p",
          { class: `status status-${n.status}`, id: "notification-status" },
          `${t("reminders.status")}: `,
          h("strong", {}, t(`reminders.status.${n.status}`)),
        ),
        h("progress", { id: "notification-progress", max: Math.max(audience, 1), value: audience ? done : n.status === "done" ? 1 : 0, "aria-label": t("reminders.progress") }),
        h(
          "dl",
          { class: "facts", id: "notification-facts" },
          fact(t("field.app.any"), n.app),
          fact(t("reminders.requestId"), n.request_id ? h("code", {}, n.request_id) : null),
          fact(t("reminders.created"), timeOf(n.created_at, n.app)),
        ),
        h(
          "dl",
          { class: "totals" },
          [
            ["reminders.audienceCount", n.audience],
            ["reminders.queued", n.queued],
            ["reminders.sent", n.sent],
            ["reminders.skipped", n.skipped],
            ["reminders.failed", n.failed],
          ].map(([key, value]) => h("div", { class: "total" }, h("dt", {}, t(key)), h("dd", { "data-count": key.split(".")[1] }, formatNumber(value)))),
        ),
        reasons.length
          ? h(
              "section",
              {},
              h("h2", {}, t("reminders.reasons")),
              h("ul", { class: "reasons" }, reasons.map(([code, count]) => h("li", {}, h("code", {}, code), `: ${formatNumber(count)}`))),
            )
          : null,
      );
    }

    async function poll() {
      try {
        const { data } = await api("GET", `/notifications/${enc(id)}`);
        if (stopped) return;
        render(data);
        if (data.status === "done") {
          announce(t("reminders.status.done"));
          return;
        }
      } catch (error) {
        if (stopped) return;
        box.replaceChildren(errorBox(error));
        if (error.status === 404 || error.status === 403) return;
      }
      timer = window.setTimeout(poll, POLL_MS);
    }

    main.append(
      h("p", { class: "breadcrumb" }, h("a", { href: "#/reminders" }, `← ${t("reminders.new")}`)),
      heading(t("reminders.progress")),
      h("p", { class: "hint" }, h("code", {}, id)),
      box,
    );
    return poll();
  }

  // --- channel lifecycle: edit, disable / enable, retire, the scene's history -------------------------------

  // The channel page's management panel: only an operator's channel (kind "channel") is edited; a card's or a
  // follower's own code is not (the API answers 409).
  function channelManage(record) {
    const section = (...children) =>
      h("section", { class: "manage no-print", id: "manage", "aria-labelledby": "manage-title" }, h("h2", { id: "manage-title" }, t("lifecycle.title")), ...children);
    if (record.kind && record.kind !== "channel") {
      const promoter = (record.channel || {}).promoter;
      return section(
        h("p", { class: "muted", id: "channel-not-editable" }, t(`lifecycle.kind.${record.kind === "referral" ? "referral" : "other"}`)),
        promoter ? h("p", {}, h("a", { href: promoterHref(record.app, promoter) }, t("lifecycle.kind.promoter"))) : null,
      );
    }
    const state = record.state || "active";
    if (state === "retired") {
      const query = {
        app: record.app,
        scene: record.scene,
        kind: record.permanent ? "permanent" : "temporary",
        scene_type: record.scene_type || "str",
      };
      return section(
        h("p", { class: "alert info", id: "retired-note" }, t(record.permanent ? "lifecycle.retired.note.permanent" : "lifecycle.retired.note.temporary")),
        h("div", { class: "actions" }, h("a", { class: "button", id: "channel-reassign", href: `#/new?${new URLSearchParams(query)}` }, t("lifecycle.reassign"))),
      );
    }
    const problem = h("div", { id: "manage-problem" });
    const editor = channelEditForm(record);
    const editButton = h("button", { type: "button", class: "secondary", id: "channel-edit", "aria-expanded": "false", "aria-controls": editor.id }, t("lifecycle.edit"));
    const toggleEditor = (open) => {
      editor.hidden = !open;
      editButton.setAttribute("aria-expanded", String(open));
      if (open) editor.querySelector("input").focus();
      else editButton.focus();
    };
    editButton.addEventListener("click", () => toggleEditor(editor.hidden));
    editor.querySelector(".cancel").addEventListener("click", () => toggleEditor(false));

    const next = state === "disabled" ? "active" : "disabled";
    const stateButton = h("button", { type: "button", class: "secondary", id: "channel-state", "data-next": next }, t(next === "disabled" ? "lifecycle.disable" : "lifecycle.enable"));
    stateButton.addEventListener("click", async () => {
      problem.replaceChildren();
      stateButton.disabled = true;
      try {
        const { data } = await api("PATCH", record.links.self, { state: next });
        go(channelHref(data.links, { [next === "disabled" ? "disabled" : "enabled"]: "1" }));
      } catch (error) {
        problem.replaceChildren(errorBox(error));
      } finally {
        stateButton.disabled = false;
      }
    });

    const retireButton = h("button", { type: "button", class: "danger", id: "channel-retire", "aria-haspopup": "dialog" }, t("lifecycle.retire"));
    const dialog = retireDialog(record, async () => {
      const { data } = await api("POST", `${record.links.self}/retire`);
      go(channelHref(data.links, { retired: "1" }));
    });
    retireButton.addEventListener("click", () => dialog.showModal());
    dialog.addEventListener("close", () => retireButton.focus());

    return section(
      state === "disabled" ? h("p", { class: "alert warning", id: "disabled-note" }, t("lifecycle.disabled.note")) : null,
      h("div", { class: "actions" }, editButton, stateButton, retireButton),
      h("p", { class: "hint" }, t(next === "disabled" ? "lifecycle.disable.hint" : "lifecycle.enable.hint"), " ", t("lifecycle.retire.hint")),
      problem,
      editor,
      dialog,
    );
  }

  // PATCH <links.self> {"channel": {only what changed}}: a field emptied is sent as null (cleared); the promoter
  // only when changed, since giving one replaces a referrer typed by hand.
  function channelEditForm(record) {
    const channel = record.channel || {};
    const before = {
      name: channel.name || "",
      welcome_message: channel.welcome_message || "",
      tag: channel.tag || "",
      notes: channel.notes || "",
      promoter: channel.promoter || "",
    };
    const submit = h("button", { type: "submit", id: "edit-submit" }, t("lifecycle.save"));
    const referrer = channel.referrer || {};
    const form = formShell(
      { id: "channel-edit-form", class: "stack panel", hidden: true },
      field({ field: "channel.name", id: "edit-name", label: t("new.name"), value: before.name }),
      field({ field: "channel.welcome_message", id: "edit-welcome", label: t("new.welcome"), multiline: true, value: before.welcome_message, hint: t("new.welcome.hint") }),
      field({ field: "channel.tag", id: "edit-tag", label: t("new.tag"), value: before.tag }),
      field({ field: "channel.notes", id: "edit-notes", label: t("new.notes"), multiline: true, value: before.notes }),
      promoterField(record.app, {
        id: "edit-promoter",
        value: before.promoter,
        hint: !channel.promoter && referrer.name ? t("lifecycle.edit.referrer", { name: referrer.name }) : t("lifecycle.edit.promoter"),
      }),
      h("div", { class: "actions" }, submit, h("button", { type: "button", class: "secondary cancel" }, t("action.cancel"))),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const now = {
        name: form.querySelector("#edit-name").value.trim(),
        welcome_message: form.querySelector("#edit-welcome").value.trim(),
        tag: form.querySelector("#edit-tag").value.trim(),
        notes: form.querySelector("#edit-notes").value.trim(),
        promoter: form.querySelector("#edit-promoter").value.trim(),
      };
      const changed = {};
      for (const [key, value] of Object.entries(now)) if (value !== before[key]) changed[key] = value === "" ? null : value;
      if (!Object.keys(changed).length) {
        announce(t("lifecycle.unchanged"));
        form.querySelector(".cancel").click();
        return;
      }
      submit.disabled = true;
      try {
        const { data } = await api("PATCH", record.links.self, { channel: changed });
        go(channelHref(data.links, { saved: "1" }));
      } catch (error) {
        showError(form, error);
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  // A modal that says, before anything happens, what retiring does; `onConfirm` retires.
  function retireDialog(record, onConfirm) {
    const titleId = nextId("retire-title");
    const descId = nextId("retire-desc");
    const name = (record.channel || {}).name || t("channel.unnamed");
    const status = h("div", { role: "status" });
    const confirm = h("button", { type: "button", class: "danger", id: "retire-confirm" }, t("lifecycle.retire.confirm"));
    const cancel = h("button", { type: "button", class: "secondary", id: "retire-cancel", autofocus: true }, t("action.cancel"));
    const dialog = h(
      "dialog",
      { id: "retire-dialog", class: "dialog", "aria-labelledby": titleId, "aria-describedby": descId },
      h("h2", { id: titleId }, t("lifecycle.retire.title", { name })),
      h(
        "div",
        { id: descId },
        h("p", {}, t("lifecycle.retire.what")),
        h(
          "ul",
          {},
          h("li", {}, t("lifecycle.retire.keeps")),
          h("li", {}, t("lifecycle.retire.reassign", { scene: record.scene })),
          h("li", {}, t(record.permanent ? "lifecycle.retire.permanent" : "lifecycle.retire.temporary")),
          h("li", {}, t("lifecycle.retire.until")),
        ),
      ),
      status,
      h("div", { class: "actions" }, confirm, cancel),
    );
    cancel.addEventListener("click", () => dialog.close());
    confirm.addEventListener("click", async () => {
      status.replaceChildren();
      confirm.disabled = true;
      try {
        await onConfirm();
        dialog.close();
      } catch (error) {
        status.replaceChildren(errorBox(error));
      } finally {
        confirm.disabled = false;
      }
    });
    return dialog;
  }

  // A past channel's period: from the day before it was created (its UTC date may be the account's next day) to
  // the account's today, at most the 366 days the API allows.
  function lifePeriod(record) {
    const earliest = Date.now() - 364 * 86400000;
    let start = Date.parse(record.created_at) - 86400000;
    if (Number.isNaN(start) || start < earliest) start = earliest;
    return { from: new Date(start).toISOString().slice(0, 10), to: "" };
  }

  // GET <links.self>/history: the channels this scene had before the current one, each with its own totals.
  function historySection(record, onShowPast) {
    const box = h("div", { id: "history" }, h("p", { class: "muted" }, t("loading")));
    const section = h(
      "section",
      { class: "no-print", "aria-labelledby": "history-title" },
      h("h2", { id: "history-title" }, t("history.title")),
      box,
    );
    const keys = ["new_followers", "unfollows", "net", "referrals"];

    async function load() {
      try {
        const { data } = await api("GET", `${record.links.self}/history`);
        const past = data.past || [];
        if (!past.length) {
          box.replaceChildren(h("p", { class: "muted", id: "history-empty" }, t("history.empty")));
          return;
        }
        const totals = await Promise.all(
          past.map((item) =>
            api("GET", withQuery(item.links.stats, periodQuery(lifePeriod(item)))).then(
              (answer) => answer.data.totals || {},
              () => null,
            ),
          ),
        );
        box.replaceChildren(
          h("p", { class: "hint" }, t("history.hint")),
          h(
            "div",
            { class: "table-scroll" },
            h(
              "table",
              { id: "history-table" },
              h(
                "thead",
                {},
                h(
                  "tr",
                  {},
                  h("th", { scope: "col" }, t("history.period")),
                  h("th", { scope: "col" }, t("referrers.channel")),
                  h("th", { scope: "col" }, t("channel.created")),
                  h("th", { scope: "col" }, t("history.retired")),
                  keys.map((k) => h("th", { scope: "col", class: "num" }, t(`stats.${k}`))),
                  h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t("history.actions"))),
                ),
              ),
              h(
                "tbody",
                {},
                past.map((item, i) => {
                  const pastName = (item.channel || {}).name || t("channel.unnamed");
                  const show = h(
                    "button",
                    { type: "button", class: "secondary small history-show", "aria-label": t("history.show.label", { n: item.generation + 1, name: pastName }) },
                    t("history.show"),
                  );
                  show.addEventListener("click", () => onShowPast(item));
                  return h(
                    "tr",
                    { "data-generation": item.generation },
                    h("td", {}, t("history.generation", { n: item.generation + 1 })),
                    h("th", { scope: "row" }, pastName, " ", stateBadge(item)),
                    h("td", {}, timeOf(item.created_at, record.app)),
                    h("td", {}, timeOf(item.retired_at, record.app) || "—"),
                    keys.map((k) => h("td", { class: "num", "data-total": k }, totals[i] ? formatNumber(totals[i][k]) : "—")),
                    h("td", {}, show),
                  );
                }),
              ),
            ),
          ),
        );
      } catch (error) {
        box.replaceChildren(errorBox(error));
      }
    }

    return { section, load };
  }

  // --- followers: who a channel, a promoter or a team brought, and the CSV download ---------------------------

  // The error of a failed response that is not read by api() (a download).
  async function failureOf(response) {
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    return failure(response.status, data);
  }

  // The file name of a Content-Disposition header: filename* (RFC 5987, UTF-8: Chinese kept), else filename.
  function dispositionName(header) {
    if (!header) return null;
    const clean = (name) => name.replace(/[\\/:*?"<>|\u0000-\u001f]+/g, "_").trim() || null;
    const star = header.match(/filename\*\s*=\s*([\w-]*)'[^']*'([^;\s]+)/i);
    if (star) {
      try {
        return clean(decodeURIComponent(star[2]));
      } catch (e) {
        // Not valid percent-encoding: the plain filename below.
      }
    }
    const plain = header.match(/filename\s*=\s*(?:"([^"]*)"|([^;\s]+))/i);
    return plain ? clean(plain[1] || plain[2]) : null;
  }

  function saveAs(href, name) {
    const link = h("a", { href, download: name || "", rel: "noopener", hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
  }

  // GET /followers/export: the CSV itself (saved under the name the API gives), or for a large export a
  // presigned link to the file in the stack's bucket ({url, file}), downloaded from there. One too large for an
  // answer (export_too_large) is built in the background instead (backgroundExport).
  async function downloadFollowers(query, status) {
    status.replaceChildren(t("followers.csv.preparing"));
    if (sessionStorage.getItem(pendingExportKey(query))) {
      await backgroundExport(query, status); // one is under way for this selection: follow it, do not start another
      return;
    }
    const response = await request("GET", `/followers/export?${new URLSearchParams(query)}`, undefined, "text/csv, application/json");
    if (!response.ok) {
      const error = await failureOf(response);
      if (error.rule !== "export_too_large") throw error;
      await backgroundExport(query, status);
      return;
    }
    const type = (response.headers.get("Content-Type") || "").toLowerCase();
    if (type.startsWith("text/csv")) {
      const name = dispositionName(response.headers.get("Content-Disposition")) || "followers.csv";
      const url = URL.createObjectURL(await response.blob());
      saveAs(url, name);
      window.setTimeout(() => URL.revokeObjectURL(url), 60000);
      status.replaceChildren(t("followers.csv.saved", { file: name }));
      return;
    }
    const data = await response.json();
    if (!data || !data.url) throw new ApiError(response.status, { message: t("followers.csv.unexpected") });
    offerLink(status, data);
  }

  function offerLink(status, data) {
    saveAs(data.url, data.file);
    status.replaceChildren(
      t("followers.csv.link", { file: data.file || "", minutes: Math.round((data.expires_in || 900) / 60) }),
      " ",
      h("a", { href: data.url, rel: "noopener", id: "followers-csv-link" }, t("followers.csv.again")),
    );
  }

  const EXPORT_POLL_MS = 3000;
  const EXPORT_POLLS = 400; // 20 minutes: ExportFunction's 15, and time to start and to retry
  const EXPORT_POLL_MISSES = 5; // status polls that may fail in a row (a network blip) before the page gives up

  // The background export under way for a selection, kept for this tab: a second click (or a reload) follows it.
  function pendingExportKey(query) {
    return `wxfunnel.export.${JSON.stringify(query)}`;
  }

  // POST /followers/exports (or the one under way for this selection), then its status (GET /followers/exports/{id})
  // every few seconds until the file is ready (its link is downloaded) or the export failed (its reason, in Chinese).
  async function backgroundExport(query, status) {
    const key = pendingExportKey(query);
    let current = null;
    const pending = sessionStorage.getItem(key);
    if (pending) {
      try {
        ({ data: current } = await api("GET", pending));
      } catch (error) {
        current = null; // expired (after a day) or never known: start again
      }
    }
    if (!current || current.status === "failed") {
      ({ data: current } = await api("POST", `/followers/exports?${new URLSearchParams(query)}`));
    }
    sessionStorage.setItem(key, current.links.self);
    let misses = 0;
    for (let poll = 0; poll < EXPORT_POLLS && !["done", "failed"].includes(current.status); poll += 1) {
      status.replaceChildren(t(`followers.csv.background.${current.status === "running" ? "running" : "queued"}`, { file: current.file || "" }));
      await new Promise((resolve) => window.setTimeout(resolve, EXPORT_POLL_MS));
      try {
        ({ data: current } = await api("GET", current.links.self));
        misses = 0;
      } catch (error) {
        misses += 1;
        if (misses >= EXPORT_POLL_MISSES) throw error;
      }
    }
    if (current.status === "done") {
      sessionStorage.removeItem(key);
      offerLink(status, current);
      return;
    }
    if (current.status === "failed") {
      sessionStorage.removeItem(key);
      const reason = ["export_too_large", "not_found"].includes(current.reason) ? current.reason : "error";
      throw new ApiError(422, { message: t(`followers.csv.failed.${reason}`) });
    }
    status.replaceChildren(t("followers.csv.background.late", { file: current.file || "" }));
  }

  function sceneLabel(scene) {
    if (!scene) return "—";
    if (scene === "(direct)") return t("followers.direct");
    return h("code", {}, scene);
  }

  function followerRow(app, row) {
    const status = ["subscribed", "unsubscribed"].includes(row.status) ? row.status : "unknown";
    const again = row.followed_at && row.followed_at !== row.first_followed_at;
    return h(
      "tr",
      { "data-openid": row.openid },
      h("th", { scope: "row" }, h("code", {}, row.openid)),
      h("td", {}, row.channel || "—", h("br"), sceneLabel(row.scene)),
      h("td", {}, h("span", { class: `badge badge-${status}` }, t(`followers.status.${status}`))),
      h("td", {}, row.brought ? t("followers.brought.yes") : t("followers.brought.no")),
      h("td", {}, sceneLabel(row.first_touch), h("br"), h("small", { class: "muted" }, `${t("followers.last")}: `, sceneLabel(row.last_touch))),
      h(
        "td",
        {},
        timeOf(row.first_followed_at, app, false) || "—",
        again ? h("small", { class: "muted block" }, `${t("followers.again")}: `, timeOf(row.followed_at, app, false)) : null,
      ),
      h("td", {}, timeOf(row.unfollowed_at, app, false) || "—"),
      h("td", {}, (row.tags || []).join("、") || "—"),
    );
  }

  const FOLLOWERS_PAGE = 50;
  const FOLLOWERS_ROUNDS = 40;

  // The people `selector` ({scene} in URL form, {promoter} or {team}) brought: pages of GET /followers, "load
  // more", and the CSV of them all.
  function followersSection(app, selector, title) {
    const query = { app, ...selector };
    const titleId = nextId("followers-title");
    const count = h("p", { class: "muted", id: "followers-count", role: "status" });
    const zone = h("p", { class: "hint", id: "followers-zone" });
    const body = h("tbody", {});
    const columns = ["openid", "channel", "status", "brought", "touches", "followed", "unfollowed", "tags"];
    const table = h(
      "div",
      { class: "table-scroll", hidden: true },
      h(
        "table",
        { id: "followers-table", class: "followers" },
        h("thead", {}, h("tr", {}, columns.map((key) => h("th", { scope: "col" }, t(`followers.col.${key}`))))),
        body,
      ),
    );
    const more = h("button", { type: "button", class: "secondary", id: "followers-more", hidden: true }, t("followers.more"));
    const download = h("button", { type: "button", id: "followers-csv" }, t("followers.csv"));
    const downloadStatus = h("p", { class: "muted", id: "followers-csv-status", role: "status" });
    const problem = h("div");
    let nextToken = null;
    let shown = 0;

    async function loadPage(reset) {
      problem.replaceChildren();
      if (reset) {
        body.replaceChildren();
        nextToken = null;
        shown = 0;
        count.textContent = t("loading");
      }
      more.disabled = true;
      try {
        // The API's pages end where an index page ends (one of a channel's 8 shards), so a page is often short:
        // follow next_token until a screenful (FOLLOWERS_PAGE rows) or the end, within FOLLOWERS_ROUNDS calls.
        const rows = [];
        for (let round = 0; round < FOLLOWERS_ROUNDS; round += 1) {
          const qs = new URLSearchParams({ ...query, limit: String(FOLLOWERS_PAGE - rows.length) });
          if (nextToken) qs.set("next_token", nextToken);
          const { data } = await api("GET", `/followers?${qs}`);
          rows.push(...(data.items || []));
          nextToken = data.next_token || null;
          if (rows.length >= FOLLOWERS_PAGE || !nextToken) break;
        }
        body.append(...rows.map((row) => followerRow(app, row)));
        shown += rows.length;
        table.hidden = shown === 0;
        const clock = clockOf(app);
        zone.textContent = shown ? (clock !== "UTC" ? t("followers.zone", { zone: zoneTitle(clock) }) : t("followers.zone.utc")) : "";
        count.textContent = shown === 0 ? t("followers.empty") : t(nextToken ? "followers.count.more" : "followers.count", { n: formatNumber(shown) });
        more.hidden = !nextToken;
      } catch (error) {
        count.textContent = "";
        problem.replaceChildren(errorBox(error));
      } finally {
        more.disabled = false;
      }
    }

    more.addEventListener("click", () => loadPage(false));
    download.addEventListener("click", async () => {
      download.disabled = true;
      try {
        await downloadFollowers(query, downloadStatus);
      } catch (error) {
        downloadStatus.replaceChildren(errorBox(error));
      } finally {
        download.disabled = false;
      }
    });
    const section = h(
      "section",
      { class: "no-print followers-section", "aria-labelledby": titleId },
      h("div", { class: "page-head" }, h("h2", { id: titleId }, title), download),
      downloadStatus,
      count,
      zone,
      problem,
      table,
      more,
    );
    return { section, load: () => loadPage(true) };
  }

  // --- promoters and teams: the leaderboard, a promoter's page, a team's page ---------------------------------

  // A follower's own-code promoter (f-…) may have no name until they give one; a legacy referrer maps to r-….
  function promoterFallbackName(id) {
    return String(id).startsWith("f-") ? t("promoter.unnamedFollower") : t("promoter.unnamed");
  }

  function promoterName(promoter) {
    return promoter.name || promoterFallbackName(promoter.id);
  }

  function promoterBadge(id) {
    if (String(id).startsWith("f-")) return h("span", { class: "badge badge-follower" }, t("promoter.kind.follower"));
    if (String(id).startsWith("r-")) return h("span", { class: "badge badge-legacy" }, t("promoter.kind.legacy"));
    return null;
  }

  // The app's promoters, asked once per page view (suggestions for promoter and team fields).
  let promoterLists = new Map();
  function promotersOf(app) {
    if (!promoterLists.has(app)) {
      promoterLists.set(
        app,
        api("GET", `/promoters?${new URLSearchParams({ app })}`).then(
          ({ data }) => data.items || [],
          () => [],
        ),
      );
    }
    return promoterLists.get(app);
  }

  // A text field with suggestions (a datalist) from `suggestions(app)`: typing works without them. Its
  // `suggest(app)` suggests another account's (the form's account was changed).
  function suggestingField(app, opts, suggestions) {
    const listId = nextId("list");
    const list = h("datalist", { id: listId });
    const wrapper = field(opts);
    wrapper.querySelector("input").setAttribute("list", listId);
    wrapper.append(list);
    wrapper.suggest = (chosen) => {
      list.replaceChildren();
      if (!chosen) return;
      suggestions(chosen).then((options) => list.replaceChildren(...options.map(([value, label]) => h("option", { value }, label))));
    };
    wrapper.suggest(app);
    return wrapper;
  }

  function promoterField(app, opts) {
    return suggestingField(
      app,
      { field: "channel.promoter", id: opts.id, label: t("channel.promoter.id"), value: opts.value, hint: opts.hint },
      (chosen) => promotersOf(chosen).then((items) => items.map((p) => [p.id, [promoterName(p), p.team].filter(Boolean).join(" · ")])),
    );
  }

  function teamField(app, opts) {
    return suggestingField(
      app,
      { field: "team", id: opts.id, label: t("promoter.team"), value: opts.value, hint: t("promoter.team.hint") },
      (chosen) => promotersOf(chosen).then((items) => [...new Set(items.map((p) => p.team).filter(Boolean))].sort().map((team) => [team, team])),
    );
  }

  const RANK_KEYS = ["referrals", "new_followers", "unfollows", "net"];

  function rankingTable(app, rows, total, needle) {
    if (!total) {
      return h("p", { class: "muted", id: "promoters-empty" }, t("promoters.empty"));
    }
    if (!rows.length) return h("p", { class: "muted" }, t("promoters.nomatch", { query: needle }));
    return h(
      "div",
      { class: "table-scroll" },
      h(
        "table",
        { id: "promoter-ranking" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, t("referrers.rank")),
            h("th", { scope: "col" }, t("promoters.promoter")),
            h("th", { scope: "col", class: "wide-only" }, t("promoter.team")),
            RANK_KEYS.map((k) => h("th", { scope: "col", class: "num" }, t(`promoters.col.${k}`))),
            h("th", { scope: "col", class: "num" }, t("promoters.col.ever")),
          ),
        ),
        h(
          "tbody",
          {},
          rows.map((p) =>
            h(
              "tr",
              { "data-promoter": p.id },
              h("td", { "data-rank": p.rank }, String(p.rank)),
              h(
                "th",
                { scope: "row" },
                h("a", { href: promoterHref(app, p.id) }, promoterName(p)),
                " ",
                promoterBadge(p.id),
                h("small", { class: "openid" }, p.id),
                // On a phone the team goes under the name, so the numbers stay in view.
                p.team ? h("small", { class: "openid narrow-only" }, h("a", { href: teamHref(app, p.team) }, p.team)) : null,
              ),
              h("td", { class: "wide-only" }, p.team ? h("a", { href: teamHref(app, p.team) }, p.team) : "—"),
              RANK_KEYS.map((k) => h("td", { class: "num", "data-total": k }, formatNumber((p.totals || {})[k]))),
              h("td", { class: "num", "data-total": "ever" }, formatNumber(p.referrals)),
            ),
          ),
        ),
      ),
    );
  }

  function teamsTable(app, teams) {
    if (!teams.length) return h("p", { class: "muted", id: "teams-empty" }, t("teams.empty"));
    return h(
      "div",
      { class: "table-scroll" },
      h(
        "table",
        { id: "team-ranking" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, t("referrers.rank")),
            h("th", { scope: "col" }, t("promoter.team")),
            h("th", { scope: "col", class: "num" }, t("teams.members")),
            RANK_KEYS.map((k) => h("th", { scope: "col", class: "num" }, t(`promoters.col.${k}`))),
          ),
        ),
        h(
          "tbody",
          {},
          teams.map((team) =>
            h(
              "tr",
              { "data-team": team.team },
              h("td", {}, String(team.rank)),
              h("th", { scope: "row" }, h("a", { href: teamHref(app, team.team) }, team.team)),
              h("td", { class: "num" }, formatNumber(team.promoters)),
              RANK_KEYS.map((k) => h("td", { class: "num", "data-total": k }, formatNumber((team.totals || {})[k]))),
            ),
          ),
        ),
      ),
    );
  }

  function viewPromoters(main, params) {
    const choice = chooseApp(params, OFFICIAL_ACCOUNTS);
    let app = choice.app;
    let period = periodFrom(params);
    const search = field({
      field: "q",
      id: "promoter-search",
      label: t("promoters.search"),
      type: "search",
      value: params.get("q") || "",
      hint: t("promoters.search.hint"),
    });
    const zoneBox = h("div");
    const board = h("div", { id: "promoters" }, h("p", { class: "muted" }, t("loading")));
    const teamsBox = h("div", { id: "teams" });
    const createLink = h("a", { class: "button", id: "promoter-create" }, t("promoters.create"));
    const previewLink = h("a", { class: "button secondary", id: "mycode-link" }, t("mycode.link"));
    let answer = null;

    function links() {
      createLink.href = `#/promoters/new?${new URLSearchParams({ app })}`;
      previewLink.href = `#/my-code?${new URLSearchParams({ app })}`;
    }

    function state() {
      const query = new URLSearchParams({ app, ...Object.fromEntries(periodQuery(period)) });
      const needle = search.querySelector("input").value;
      if (needle) query.set("q", needle);
      return query;
    }

    function render() {
      if (!answer) return;
      const needle = search.querySelector("input").value.trim().toLowerCase();
      const everyone = answer.promoters || [];
      const rows = everyone.filter(
        (p) => !needle || [p.id, p.name, p.team, p.notes, promoterName(p)].filter(Boolean).some((text) => String(text).toLowerCase().includes(needle)),
      );
      board.replaceChildren(rankingTable(app, rows, everyone.length, needle));
      teamsBox.replaceChildren(teamsTable(app, answer.teams || []));
    }

    async function loadAll(form) {
      if (form) clearErrors(form);
      try {
        const { data } = await api("GET", `/promoters/${enc(app)}/ranking?${periodQuery(period)}`);
        answer = data;
        showPeriod(data);
        zoneBox.replaceChildren(zoneNote(data) || "");
        render();
        replaceQuery(state(), main);
      } catch (error) {
        answer = null;
        board.replaceChildren();
        teamsBox.replaceChildren();
        if (form) showError(form, error);
        else board.replaceChildren(errorBox(error));
      }
    }

    search.querySelector("input").addEventListener("input", () => {
      replaceQuery(state(), main);
      render();
    });
    links();
    main.append(
      h("div", { class: "page-head" }, heading(t("promoters.title")), h("div", { class: "actions" }, createLink, previewLink)),
      appToolbar(choice, (value, form) => {
        app = value;
        links();
        loadAll(form);
      }),
      periodForm(period, (chosen, form) => {
        period = chosen;
        loadAll(form);
      }),
      zoneBox,
      search,
      h(
        "section",
        { "aria-labelledby": "ranking-title" },
        h("h2", { id: "ranking-title" }, t("promoters.ranking")),
        h("p", { class: "hint" }, t("promoters.rule")),
        board,
      ),
      h(
        "section",
        { "aria-labelledby": "teams-title" },
        h("h2", { id: "teams-title" }, t("teams.title")),
        teamsBox,
      ),
      h("p", { class: "hint" }, t("promoters.noReward")),
    );
    return app ? loadAll(null) : board.replaceChildren();
  }

  function viewPromoterNew(main, params) {
    const choice = chooseApp(params, OFFICIAL_ACCOUNTS);
    const app = choice.app || "";
    const submit = h("button", { type: "submit", id: "promoter-submit" }, t("promoters.create"));
    const team = teamField(app, { id: "promoter-team" });
    const form = formShell(
      { id: "promoter-form", class: "stack" },
      appField(choice, { id: "promoter-app", onchange: (value) => team.suggest(value) }),
      field({ field: "id", id: "promoter-id", label: t("promoter.id"), hint: t("promoter.id.hint"), autocomplete: "off" }),
      field({ field: "name", id: "promoter-name", label: t("promoter.name"), hint: t("promoter.name.hint") }),
      team,
      field({ field: "openid", id: "promoter-openid", label: t("promoter.openid"), hint: t("promoter.openid.hint") }),
      field({ field: "notes", id: "promoter-notes", label: t("promoter.notes"), multiline: true }),
      h("div", { class: "actions" }, submit),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const value = (id) => form.querySelector(`#${id}`).value.trim();
      const body = { app: value("promoter-app"), id: value("promoter-id"), name: value("promoter-name") };
      for (const [key, id] of [["team", "promoter-team"], ["openid", "promoter-openid"], ["notes", "promoter-notes"]]) {
        if (value(id)) body[key] = value(id);
      }
      submit.disabled = true;
      try {
        const { data } = await api("POST", "/promoters", body);
        save(STORAGE.app, data.app);
        announce(t("promoter.created"));
        go(promoterHref(data.app, data.id, { created: "1" }));
      } catch (error) {
        showError(form, error);
      } finally {
        submit.disabled = false;
      }
    });
    main.append(
      h("p", { class: "breadcrumb" }, h("a", { href: `#/promoters?${new URLSearchParams({ app })}` }, `← ${t("nav.promoters")}`)),
      heading(t("promoters.new")),
      form,
    );
  }

  // PATCH /promoters/{app}/{id} with what changed (an emptied team, openid or notes is sent as null: cleared).
  function promoterEditForm(promoter) {
    const keys = [
      ["name", "promoter-edit-name"],
      ["team", "promoter-edit-team"],
      ["openid", "promoter-edit-openid"],
      ["notes", "promoter-edit-notes"],
    ];
    const submit = h("button", { type: "submit", id: "promoter-edit-submit" }, t("lifecycle.save"));
    const form = formShell(
      { id: "promoter-edit-form", class: "stack panel no-print", hidden: true },
      field({ field: "name", id: "promoter-edit-name", label: t("promoter.name"), value: promoter.name || "", hint: t("promoter.name.hint") }),
      teamField(promoter.app, { id: "promoter-edit-team", value: promoter.team || "" }),
      field({ field: "openid", id: "promoter-edit-openid", label: t("promoter.openid"), value: promoter.openid || "", hint: t("promoter.openid.hint") }),
      field({ field: "notes", id: "promoter-edit-notes", label: t("promoter.notes"), multiline: true, value: promoter.notes || "" }),
      h("p", { class: "hint" }, t("promoter.edit.hint")),
      h("div", { class: "actions" }, submit, h("button", { type: "button", class: "secondary cancel" }, t("action.cancel"))),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const changed = {};
      for (const [key, id] of keys) {
        const value = form.querySelector(`#${id}`).value.trim();
        if (value !== (promoter[key] || "")) changed[key] = value === "" ? null : value;
      }
      if (!Object.keys(changed).length) {
        announce(t("lifecycle.unchanged"));
        form.querySelector(".cancel").click();
        return;
      }
      submit.disabled = true;
      try {
        const { data } = await api("PATCH", promoter.links.self, changed);
        go(promoterHref(data.app, data.id, { saved: "1" }));
      } catch (error) {
        showError(form, error);
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  async function viewPromoter(main, params, app, id) {
    main.append(h("p", { class: "muted" }, t("loading")));
    let promoter;
    try {
      promoter = (await api("GET", `/promoters/${enc(app)}/${enc(id)}`)).data;
    } catch (error) {
      main.replaceChildren(heading(id), errorBox(error));
      return;
    }
    const notice = params.get("created") ? t("promoter.created") : params.get("saved") ? t("promoter.saved") : null;
    const factsOf = () =>
      h(
        "dl",
        { class: "facts details", id: "promoter-facts" },
        fact(t("promoter.id"), h("code", {}, promoter.id)),
        fact(t("promoter.team"), promoter.team ? h("a", { href: teamHref(app, promoter.team) }, promoter.team) : null),
        fact(t("promoter.openid"), promoter.openid ? h("code", {}, promoter.openid) : null),
        fact(t("promoters.col.ever"), formatNumber(promoter.referrals)),
        fact(t("promoter.notes"), promoter.notes),
        fact(t("channel.created"), timeOf(promoter.created_at, app)),
      );
    let facts = factsOf();
    const editor = promoterEditForm(promoter);
    const editButton = h("button", { type: "button", class: "secondary", id: "promoter-edit", "aria-expanded": "false", "aria-controls": editor.id }, t("promoter.edit"));
    const toggleEditor = (open) => {
      editor.hidden = !open;
      editButton.setAttribute("aria-expanded", String(open));
      if (open) editor.querySelector("input").focus();
      else editButton.focus();
    };
    editButton.addEventListener("click", () => toggleEditor(editor.hidden));
    editor.querySelector(".cancel").addEventListener("click", () => toggleEditor(false));
    const codes = promoter.channels || [];
    const statsBox = h("div", { class: "stats", id: "stats", "aria-live": "polite" });
    const funnelBox = h("div", { class: "stats", id: "funnel", "aria-live": "polite" }, h("p", { class: "muted" }, t("loading")));
    const period = periodFrom(params);

    async function loadStats(chosen, form) {
      if (form) clearErrors(form);
      const qs = periodQuery(chosen);
      try {
        const { data } = await api("GET", withQuery(promoter.links.stats, qs));
        const zoneKnown = zoneOf(app);
        renderStats(statsBox, data, { from: data.from || chosen.from, to: data.to || chosen.to });
        // The same period's funnel: the visits of their channels' live codes → followers → still following.
        api("GET", withQuery(promoter.links.funnel, qs))
          .then(({ data: report }) => renderFunnel(funnelBox, report))
          .catch((error) => funnelBox.replaceChildren(errorBox(error)));
        if (!zoneKnown && zoneOf(app)) {
          const fresh = factsOf();
          facts.replaceWith(fresh);
          facts = fresh;
        }
        replaceQuery(qs, main);
      } catch (error) {
        if (form) showError(form, error);
        else statsBox.replaceChildren(errorBox(error));
      }
    }

    const followers = followersSection(app, { promoter: promoter.id }, t("followers.ofPromoter"));
    put(
      main,
      h("p", { class: "breadcrumb" }, h("a", { href: `#/promoters?${new URLSearchParams({ app })}` }, `← ${t("nav.promoters")}`)),
      heading(promoterName(promoter)),
      promoterBadge(promoter.id) ? h("p", { class: "muted" }, promoterBadge(promoter.id), " ", t(promoter.id.startsWith("f-") ? "promoter.follower.note" : "promoter.legacy.note")) : null,
      notice ? h("p", { class: "alert success", role: "status", id: "promoter-notice" }, notice) : null,
      facts,
      h(
        "div",
        { class: "actions" },
        h("a", { class: "button", id: "promoter-new-code", href: `#/new?${new URLSearchParams({ app, promoter: promoter.id })}` }, t("promoter.newCode")),
        editButton,
      ),
      editor,
      h(
        "section",
        { "aria-labelledby": "codes-title" },
        h("h2", { id: "codes-title" }, t("promoter.codes", { n: codes.length })),
        codes.length
          ? h("ul", { class: "cards", id: "promoter-codes" }, codes.map(channelCard))
          : h("p", { class: "muted", id: "promoter-codes-empty" }, t("promoter.codes.empty")),
      ),
      h(
        "section",
        { "aria-labelledby": "stats-title" },
        h("h2", { id: "stats-title" }, t("promoter.stats")),
        h("p", { class: "hint" }, t("promoter.stats.hint")),
        periodForm(period, loadStats),
        statsBox,
      ),
      h("section", { class: "no-print", "aria-labelledby": "funnel-h" }, h("h2", { id: "funnel-h" }, t("funnel.title")), funnelBox),
      followers.section,
    );
    await loadStats(period, null);
    await followers.load();
  }

  async function viewTeam(main, params, app, team) {
    const statsBox = h("div", { class: "stats", id: "stats", "aria-live": "polite" });
    const members = h("div", { id: "team-members" }, h("p", { class: "muted" }, t("loading")));
    const period = periodFrom(params);

    function memberTable(promoters) {
      if (!promoters.length) return h("p", { class: "muted" }, t("team.members.empty"));
      return h(
        "ul",
        { class: "members" },
        promoters.map((p) =>
          h("li", { "data-promoter": p.id }, h("a", { href: promoterHref(app, p.id) }, promoterName(p)), " ", promoterBadge(p.id), h("small", { class: "muted" }, ` · ${t("promoters.col.ever")} ${formatNumber(p.referrals)}`)),
        ),
      );
    }

    async function loadStats(chosen, form) {
      if (form) clearErrors(form);
      const qs = periodQuery(chosen);
      try {
        const { data } = await api("GET", `/teams/${enc(app)}/${enc(team)}/stats?${qs}`);
        renderStats(statsBox, data, { from: data.from || chosen.from, to: data.to || chosen.to });
        members.replaceChildren(memberTable(data.promoters || []));
        replaceQuery(qs, main);
      } catch (error) {
        members.replaceChildren();
        if (form) showError(form, error);
        else statsBox.replaceChildren(errorBox(error));
      }
    }

    const followers = followersSection(app, { team }, t("followers.ofTeam"));
    main.append(
      h("p", { class: "breadcrumb" }, h("a", { href: `#/promoters?${new URLSearchParams({ app })}` }, `← ${t("nav.promoters")}`)),
      heading(t("team.title", { team })),
      h("section", { "aria-labelledby": "members-title" }, h("h2", { id: "members-title" }, t("team.members")), members),
      h(
        "section",
        { "aria-labelledby": "stats-title" },
        h("h2", { id: "stats-title" }, t("team.stats")),
        periodForm(period, loadStats),
        statsBox,
      ),
      followers.section,
    );
    await loadStats(period, null);
    await followers.load();
  }

  // --- "my code": what a follower and their friends see, per the app's referral rule (docs/rules.md) ----------

  // The admin API has no route that reads an app's configuration, so the preview is drawn from what the operator
  // types (prefilled with the documented example) and says so; the matching JSON is shown to paste into it.
  function placeholderQr() {
    const size = 21;
    const cells = [];
    const finder = (x, y) => x < 7 && y < 7;
    let seed = 7;
    for (let y = 0; y < size; y += 1) {
      for (let x = 0; x < size; x += 1) {
        const inFinder = finder(x, y) || finder(size - 1 - x, y) || finder(x, size - 1 - y);
        if (inFinder) {
          const dx = Math.min(x, size - 1 - x) % 7;
          const dy = Math.min(y, size - 1 - y) % 7;
          const ring = Math.min(dx, dy, 6 - dx, 6 - dy);
          if (ring !== 1) cells.push([x, y]);
        } else {
          seed = (seed * 1103515245 + 12345) % 2147483648;
          if (seed % 3 === 0) cells.push([x, y]);
        }
      }
    }
    const svg = h(
      "svg:svg",
      { class: "qr-placeholder", viewBox: `-2 -2 ${size + 4} ${size + 4}`, width: 160, height: 160, role: "img", "aria-label": t("mycode.qr.alt") },
      h("svg:rect", { x: -2, y: -2, width: size + 4, height: size + 4, fill: "#ffffff" }),
      cells.map(([x, y]) => h("svg:rect", { x, y, width: 1, height: 1, fill: "#1f2328" })),
      h("svg:rect", { x: 6.5, y: 8.5, width: 8, height: 4, rx: 0.5, fill: "#ffffff", stroke: "#1f2328", "stroke-width": 0.2 }),
      h("svg:text", { x: 10.5, y: 11.3, "text-anchor": "middle", "font-size": 2.4, fill: "#1f2328" }, t("mycode.qr.sample")),
    );
    return svg;
  }

  function bubble(from, ...content) {
    return h("li", { class: `bubble bubble-${from}` }, ...content);
  }

  function viewMyCode(main, params) {
    const app = chooseApp(params, OFFICIAL_ACCOUNTS).app || currentApp();
    const inputs = [
      ["keyword", "我的二维码", "mycode.keyword", false],
      ["menu_key", "MY_CODE", "mycode.menuKey", false],
      ["intro_text", "这是你的专属二维码，分享给朋友吧", "mycode.intro", true],
      ["welcome", "欢迎关注！", "mycode.welcome", true],
      ["referral_text", "你由 {referrer} 推荐关注", "mycode.referralText", true],
      ["sample_name", "小明", "mycode.sampleName", false],
      ["default_name", "你的好友", "mycode.defaultName", false],
      ["notify_referrer", "{name}，又一位朋友通过你的二维码关注了，这是第 {count} 位", "mycode.notify", true],
    ];
    const form = formShell(
      { id: "mycode-form", class: "stack" },
      inputs.map(([key, example, label, multiline]) =>
        field({ field: key, id: `mycode-${key.replace(/_/g, "-")}`, label: t(label), hint: t(`${label}.hint`), value: example, multiline }),
      ),
    );
    form.addEventListener("submit", (event) => event.preventDefault());
    const preview = h("div", { class: "mycode-preview", id: "mycode-preview", "aria-live": "polite" });
    const snippet = h("code", { id: "mycode-json" });

    function value(key) {
      return form.querySelector(`#mycode-${key.replace(/_/g, "-")}`).value.trim();
    }

    function render() {
      const referrer = value("sample_name") || value("default_name") || t("mycode.noName");
      const fill = (text, vars) => text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? vars[name] : m));
      const asks = value("keyword") || t("mycode.menuPress");
      const friendText = [value("welcome"), fill(value("referral_text"), { referrer })].filter(Boolean).join("\n\n");
      put(
        preview,
        h(
          "figure",
          { class: "phone", id: "mycode-follower" },
          h("figcaption", {}, t("mycode.follower")),
          h(
            "ol",
            { class: "chat" },
            bubble("user", asks),
            value("menu_key") && value("keyword") ? h("li", { class: "chat-note" }, t("mycode.orMenu", { key: value("menu_key") })) : null,
            value("intro_text") ? bubble("account", h("span", { id: "mycode-intro-preview" }, value("intro_text"))) : null,
            bubble("account", placeholderQr(), h("small", { class: "block muted" }, t("mycode.qr.caption"))),
          ),
        ),
        h(
          "figure",
          { class: "phone", id: "mycode-friend" },
          h("figcaption", {}, t("mycode.friend")),
          h("ol", { class: "chat" }, h("li", { class: "chat-note" }, t("mycode.friendScans")), bubble("account", h("span", { class: "pre", id: "mycode-friend-text" }, friendText))),
        ),
        value("notify_referrer")
          ? h(
              "figure",
              { class: "phone", id: "mycode-referrer" },
              h("figcaption", {}, t("mycode.referrer")),
              h("ol", { class: "chat" }, bubble("account", h("span", { id: "mycode-notify-text" }, fill(value("notify_referrer"), { name: referrer, count: 1 })))),
            )
          : null,
      );
      const rule = {};
      for (const key of ["keyword", "menu_key", "intro_text", "default_name", "notify_referrer"]) if (value(key)) rule[key] = value(key);
      const config = { referral_text: value("referral_text") || undefined, referral: rule };
      snippet.textContent = JSON.stringify(config, null, 2);
    }

    form.addEventListener("input", render);
    main.append(
      h("p", { class: "breadcrumb" }, h("a", { href: `#/promoters?${new URLSearchParams({ app })}` }, `← ${t("nav.promoters")}`)),
      heading(t("mycode.title")),
      h("div", { class: "alert info", id: "mycode-note" }, h("p", {}, t("mycode.note")), h("p", {}, t("mycode.note.config"), " ", h("code", {}, `wxfunnel config get ${app}`))),
      h(
        "div",
        { class: "mycode" },
        h("section", { "aria-labelledby": "mycode-form-title" }, h("h2", { id: "mycode-form-title" }, t("mycode.rule")), form),
        h("section", { "aria-labelledby": "mycode-preview-title" }, h("h2", { id: "mycode-preview-title" }, t("mycode.preview")), preview),
      ),
      h(
        "section",
        { "aria-labelledby": "mycode-json-title" },
        h("h2", { id: "mycode-json-title" }, t("mycode.json")),
        h("p", { class: "hint" }, t("mycode.json.hint")),
        h("pre", { class: "snippet" }, snippet),
      ),
      h("p", { class: "alert warning" }, t("promoters.noReward")),
    );
    render();
  }

  // --- live codes, campaigns, the funnel, batches, welcome sequences --------------------------------------------
  // Live codes are the operator's own links printed as QR codes; their page shows the channel's current code.

  const FUNNEL_STEPS = ["visits", "new_followers", "retained_1", "retained_7", "retained_30"];
  const WELCOME_TYPES = ["text", "image", "link", "miniprogrampage"];
  const WELCOME_FIELDS = {
    text: [["content", true]],
    image: [["image_url", false]],
    link: [["title", false], ["description", false], ["url", false], ["thumb_url", false]],
    miniprogrampage: [["title", false], ["appid", false], ["page_path", false], ["thumb_url", false]],
  };

  function percent(value) {
    return value === null || value === undefined ? "—" : `${(100 * value).toFixed(1)}%`;
  }

  // A file from the admin API (a print file, a ZIP) as a download link to an object URL.
  async function fetchFile(method, path, body, accept) {
    const response = await request(method, path, body, accept);
    if (!response.ok) {
      let data = null;
      try {
        data = await response.json();
      } catch (e) {
        // Not JSON: the status line says enough.
      }
      throw failure(response.status, data); // by its code and rule, in the operator's words like every refusal
    }
    const url = URL.createObjectURL(await response.blob());
    cleanups.push(() => URL.revokeObjectURL(url));
    return url;
  }

  function fileButton(label, filename, fetcher, attrs) {
    const button = h("button", { type: "button", class: "secondary", ...(attrs || {}) }, label);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const link = h("a", { href: await fetcher(), download: filename, hidden: true });
        document.body.append(link);
        link.click();
        link.remove();
        button.dataset.downloaded = "1";
      } catch (error) {
        button.after(errorBox(error));
      } finally {
        button.disabled = false;
      }
    });
    return button;
  }

  // A live code's card; `notice` (after a re-point) says where the printed code now leads.
  function liveCodeItem(live, notice) {
    const png = fileButton(t("live.png"), `${live.code}.png`, () => fetchFile("GET", live.links.png, undefined, "image/png"), {
      class: "secondary live-png",
    });
    const svg = fileButton(t("live.svg"), `${live.code}.svg`, () => fetchFile("GET", live.links.svg, undefined, "image/svg+xml"), {
      class: "secondary live-svg",
    });
    const toggle = h("button", { type: "button", class: "secondary live-toggle" }, live.state === "active" ? t("live.disable") : t("live.enable"));
    const repoint = formShell(
      { class: "toolbar live-repoint", id: `live-repoint-${live.code}`, "aria-label": t("live.repoint") },
      field({ field: "scene", id: `live-scene-${live.code}`, label: t("live.repoint.scene"), hint: t("live.repoint.hint") }),
      h("button", { type: "submit", class: "secondary live-repoint-submit", id: `live-repoint-submit-${live.code}` }, t("live.repoint")),
    );
    const item = h(
      "li",
      { class: "card live-code", "data-code": live.code, "data-state": live.state },
      h("p", { class: "live-link" }, h("a", { href: live.link, target: "_blank", rel: "noopener noreferrer" }, h("code", { class: "wrap" }, live.link))),
      h(
        "dl",
        { class: "facts" },
        fact(t("live.title"), live.page_title),
        fact(t("live.state"), t(`live.state.${live.state}`)),
        fact(t("live.campaign"), live.campaign ? `${live.campaign.name} (${live.campaign.start} – ${live.campaign.end})` : null),
      ),
      h("div", { class: "actions" }, png, svg, toggle),
      notice || null,
      repoint,
    );
    repoint.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(repoint);
      const scene = repoint.elements.scene.value.trim();
      if (!scene) {
        showError(repoint, localError("scene", "required"));
        return;
      }
      const submit = repoint.querySelector("button[type=submit]");
      submit.disabled = true;
      try {
        const { data } = await api("PUT", live.links.self, { scene });
        const name = (data.channel || {}).name || data.scene;
        const done = h(
          "p",
          { class: "alert success live-repointed", role: "status", id: `live-repointed-${data.code}` },
          t("live.repoint.done", { name, scene: data.scene }),
          " ",
          h("a", { href: channelHref({ self: data.links.channel }), class: "live-repointed-link" }, t("live.repoint.open", { name })),
        );
        item.replaceWith(liveCodeItem(data, done));
        announce(t("live.repoint.done", { name, scene: data.scene }));
      } catch (error) {
        showError(repoint, error);
        submit.disabled = false;
      }
    });
    toggle.addEventListener("click", async () => {
      toggle.disabled = true;
      try {
        const state = live.state === "active" ? "disabled" : "active";
        const { data } = await api("PUT", live.links.self, { state });
        item.replaceWith(liveCodeItem(data));
        announce(t(`live.state.${data.state}`));
      } catch (error) {
        toggle.after(errorBox(error));
        toggle.disabled = false;
      }
    });
    return item;
  }

  function liveCodesSection(record) {
    const list = h("ul", { class: "cards", id: "live-codes" });
    const status = h("p", { class: "muted", role: "status" }, t("loading"));
    const form = formShell(
      { class: "toolbar", id: "live-form" },
      field({ field: "title", id: "live-title", label: t("live.title"), hint: t("live.title.hint") }),
      h("button", { type: "submit", id: "live-create" }, t("live.create")),
    );
    async function load() {
      try {
        const { data } = await api("GET", `/livecodes?${new URLSearchParams({ app: record.app, scene: sceneSegment(record.links) })}`);
        list.replaceChildren(...(data.items || []).map((live) => liveCodeItem(live)));
        status.textContent = (data.items || []).length ? "" : t("live.none");
      } catch (error) {
        status.replaceChildren(errorBox(error));
      }
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const body = { app: record.app, scene: record.scene };
      const title = form.elements.title.value.trim();
      if (title) body.title = title;
      try {
        const { data } = await api("POST", "/livecodes", body);
        list.append(liveCodeItem(data));
        status.textContent = "";
        form.reset();
        announce(t("live.created"));
      } catch (error) {
        showError(form, error);
      }
    });
    load();
    return h(
      "section",
      { class: "no-print", "aria-labelledby": "live-title-h" },
      h("h2", { id: "live-title-h" }, t("live.heading")),
      h("p", { class: "hint" }, t("live.explain")),
      status,
      list,
      form,
    );
  }

  function welcomeRow(list, message) {
    const index = () => [...list.children].indexOf(row);
    const type = h("select", { class: "welcome-type" }, WELCOME_TYPES.map((value) => h("option", { value, selected: value === message.type }, t(`welcome.type.${value}`))));
    const fields = h("div", { class: "welcome-fields" });
    const row = h("li", { class: "welcome-row card" });
    function renderFields() {
      const values = Object.fromEntries([...fields.querySelectorAll("[data-key]")].map((el) => [el.dataset.key, el.value]));
      fields.replaceChildren(
        ...WELCOME_FIELDS[type.value].map(([key, multiline]) => {
          const wrapper = field({ field: `messages[${index()}].${key}`, label: t(`welcome.${key}`), multiline, value: multiline ? null : values[key] ?? message[key] ?? "" });
          const control = wrapper.querySelector("input, textarea");
          control.dataset.key = key;
          if (multiline) control.value = values[key] ?? message[key] ?? "";
          return wrapper;
        }),
      );
    }
    const remove = h("button", { type: "button", class: "secondary welcome-remove" }, t("welcome.remove"));
    remove.addEventListener("click", () => {
      row.remove();
      renumberWelcome(list);
    });
    type.addEventListener("change", renderFields);
    const typeId = nextId("welcome-type");
    type.id = typeId;
    row.append(
      h("div", { class: "field", "data-field": "type" }, h("label", { for: typeId }, t("welcome.type")), type, h("p", { class: "field-error", hidden: true })),
      fields,
      h("div", { class: "actions" }, remove),
    );
    list.append(row);
    renderFields();
    renumberWelcome(list);
    return row;
  }

  // The API names a message's field messages[<index>].<field>: keep each row's wrappers on its position.
  function renumberWelcome(list) {
    [...list.children].forEach((row, i) => {
      row.querySelector(".field[data-field]").dataset.field = `messages[${i}].type`;
      for (const wrapper of row.querySelectorAll(".welcome-fields [data-field]")) {
        wrapper.dataset.field = wrapper.dataset.field.replace(/^messages\[\d+\]/, `messages[${i}]`);
      }
      row.querySelector(".welcome-remove").setAttribute("aria-label", t("welcome.remove.n", { n: i + 1 }));
    });
  }

  function welcomeSection(record) {
    const list = h("ol", { class: "welcome-list", id: "welcome-list" });
    const add = h("button", { type: "button", class: "secondary", id: "welcome-add" }, t("welcome.add"));
    const save = h("button", { type: "submit", id: "welcome-save" }, t("welcome.save"));
    const form = formShell(
      { class: "stack", id: "welcome-form" },
      h("p", { class: "hint" }, t("welcome.explain")),
      h("div", { "data-field": "messages" }, list, h("p", { class: "field-error", hidden: true })),
      h("div", { class: "actions" }, add, save),
    );
    const path = record.links.self.replace(/^\/qrcodes\//, "/channels/") + "/welcome";
    add.addEventListener("click", () => welcomeRow(list, { type: "image" }).querySelector("select").focus());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const messages = [...list.children].map((row) => {
        const message = { type: row.querySelector(".welcome-type").value };
        for (const control of row.querySelectorAll("[data-key]")) {
          const value = control.value.trim();
          if (value) message[control.dataset.key] = value;
        }
        return message;
      });
      save.disabled = true;
      try {
        await api("PUT", path, { messages });
        announce(t("welcome.saved"));
        form.dataset.saved = String(Date.now());
      } catch (error) {
        showError(form, error);
      } finally {
        save.disabled = false;
      }
    });
    api("GET", path)
      .then(({ data }) => (data.messages || []).forEach((message) => welcomeRow(list, message)))
      .catch((error) => form.prepend(errorBox(error)));
    return h("section", { class: "no-print", "aria-labelledby": "welcome-h" }, h("h2", { id: "welcome-h" }, t("welcome.heading")), form);
  }

  function campaignSection(record) {
    const select = h("select", { id: "channel-campaign", name: "campaign" }, h("option", { value: "" }, t("campaign.none")));
    const form = formShell(
      { class: "toolbar", id: "channel-campaign-form" },
      field({ field: "campaign", id: "channel-campaign", label: t("campaign.of"), control: select }),
      h("button", { type: "submit", class: "secondary" }, t("campaign.set")),
    );
    api("GET", `/campaigns?${new URLSearchParams({ app: record.app })}`)
      .then(({ data }) => {
        for (const campaign of data.items || []) {
          select.append(h("option", { value: campaign.id, selected: campaign.id === record.channel.campaign }, `${campaign.name} (${campaign.id})`));
        }
      })
      .catch((error) => form.prepend(errorBox(error)));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      try {
        await api("PUT", record.links.self.replace(/^\/qrcodes\//, "/channels/") + "/campaign", { campaign: select.value || null });
        announce(t("campaign.saved"));
      } catch (error) {
        showError(form, error);
      }
    });
    return h("section", { class: "no-print", "aria-labelledby": "campaign-h" }, h("h2", { id: "campaign-h" }, t("campaign.heading")), form);
  }

  // The channel page's sections of live codes, campaign and welcome sequence (viewChannel appends them).
  function channelExtras(record) {
    if (record.kind && record.kind !== "channel") return null; // a card's scene, a follower's own code
    return [liveCodesSection(record), campaignSection(record), welcomeSection(record)];
  }

  // Bars from visits to the followers still following after 1, 7 and 30 days (the matured cohorts).
  function funnelChart(report, width) {
    const retention = Object.fromEntries((report.retention || []).map((r) => [r.days, r]));
    const values = {
      visits: report.visits,
      new_followers: report.new_followers,
      retained_1: (retention[1] || {}).retained,
      retained_7: (retention[7] || {}).retained,
      retained_30: (retention[30] || {}).retained,
    };
    const W = Math.max(280, Math.round(width));
    const label = W < 480 ? 96 : 150;
    const rowH = 34;
    const H = FUNNEL_STEPS.length * rowH + 8;
    const max = Math.max(1, ...Object.values(values).map((v) => Number(v) || 0));
    const plot = W - label - 70;
    const titleId = nextId("funnel-title");
    const svg = h(
      "svg:svg",
      { class: "chart funnel", id: "funnel-chart", width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": titleId },
      h("svg:title", { id: titleId }, t("funnel.chart")),
    );
    // A retention window no cohort has completed yet has no value: "—", not 0.
    const open = (step) => step.startsWith("retained_") && !(retention[step.split("_")[1]] || {}).cohort;
    FUNNEL_STEPS.forEach((step, i) => {
      const value = Number(values[step]) || 0;
      const y = 4 + i * rowH;
      const width = Math.max(value ? 2 : 0, (plot * value) / max);
      svg.append(
        h("svg:text", { class: "axis", x: label - 8, y: y + 20, "text-anchor": "end" }, t(`funnel.${step}`)),
        h("svg:rect", { class: `bar bar-${i}`, x: label, y: y + 4, width, height: rowH - 10, rx: 3, "data-step": step, "data-value": value }),
        h("svg:text", { class: "axis value", x: label + width + 6, y: y + 20 }, open(step) ? "—" : formatNumber(value)),
      );
    });
    return svg;
  }

  function renderFunnel(box, report) {
    const chartBox = h("div", { class: "chart-box" });
    const windows = (report.retention || []).map((r) =>
      h(
        "li",
        { "data-days": r.days },
        t("funnel.window", { days: r.days, retained: formatNumber(r.retained), cohort: formatNumber(r.cohort), rate: percent(r.rate), pending: formatNumber(r.pending) }),
      ),
    );
    const channels = report.channels || [];
    put(
      box,
      h("p", { class: "muted" }, t("funnel.period", { from: report.from, to: report.to, zone: report.time_zone || "" })),
      h(
        "dl",
        { class: "totals", id: "funnel-totals" },
        [
          ["visits", formatNumber(report.visits)],
          ["new_followers", formatNumber(report.new_followers)],
          ["conversion", percent(report.conversion)],
        ].map(([key, value]) => h("div", { class: "total" }, h("dt", {}, t(`funnel.${key}`)), h("dd", { "data-funnel": key }, value))),
      ),
      chartBox,
      h("ul", { class: "funnel-windows" }, windows),
      channels.length
        ? h(
            "div",
            { class: "table-scroll" },
            h(
              "table",
              { id: "funnel-channels" },
              h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("referrers.channel")), ["visits", "new_followers", "conversion"].map((k) => h("th", { scope: "col", class: "num" }, t(`funnel.${k}`))))),
              h(
                "tbody",
                {},
                channels.map((row) =>
                  h(
                    "tr",
                    { "data-scene": row.scene },
                    h("th", { scope: "row" }, h("a", { href: channelHref(row.links) }, row.name || row.scene), " ", h("code", {}, row.scene)),
                    h("td", { class: "num" }, formatNumber(row.visits)),
                    h("td", { class: "num" }, formatNumber(row.new_followers)),
                    h("td", { class: "num" }, percent(row.conversion)),
                  ),
                ),
              ),
            ),
          )
        : null,
    );
    const draw = () => chartBox.replaceChildren(funnelChart(report, chartBox.clientWidth || 640));
    draw();
    const onResize = () => draw();
    window.addEventListener("resize", onResize);
    cleanups.push(() => window.removeEventListener("resize", onResize));
  }

  function campaignCard(campaign) {
    return h(
      "li",
      { class: "card", "data-campaign": campaign.id },
      h("h2", { class: "card-title" }, h("a", { href: `#/campaign/${enc(campaign.app)}/${enc(campaign.id)}` }, campaign.name), " ", h("span", { class: `badge badge-${campaign.status}` }, t(`campaign.status.${campaign.status}`))),
      h("dl", { class: "facts" }, fact(t("campaign.id"), h("code", {}, campaign.id)), fact(t("campaign.period"), `${campaign.start} – ${campaign.end}`)),
    );
  }

  function viewCampaigns(main, params) {
    const choice = chooseApp(params, OFFICIAL_ACCOUNTS);
    let app = choice.app;
    const list = h("ul", { class: "cards", id: "campaign-list" });
    const status = h("p", { class: "muted", role: "status" });
    const form = formShell(
      { class: "stack", id: "campaign-form" },
      field({ field: "id", id: "campaign-id", label: t("campaign.id"), hint: t("campaign.id.hint") }),
      field({ field: "name", id: "campaign-name", label: t("campaign.name") }),
      h("div", { class: "row" }, field({ field: "start", id: "campaign-start", label: t("campaign.start"), type: "date" }), field({ field: "end", id: "campaign-end", label: t("campaign.end"), type: "date" })),
      field({ field: "ended_scene", id: "campaign-ended", label: t("campaign.ended_scene"), hint: t("campaign.ended_scene.hint") }),
      h("div", { class: "actions" }, h("button", { type: "submit", id: "campaign-create" }, t("campaign.create"))),
    );
    async function load() {
      status.textContent = t("loading");
      try {
        const { data } = await api("GET", `/campaigns?${new URLSearchParams({ app })}`);
        list.replaceChildren(...(data.items || []).map(campaignCard));
        status.textContent = (data.items || []).length ? "" : t("campaign.empty");
      } catch (error) {
        status.replaceChildren(errorBox(error));
      }
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const body = { app };
      const ids = { id: "campaign-id", name: "campaign-name", start: "campaign-start", end: "campaign-end", ended_scene: "campaign-ended" };
      for (const [key, elementId] of Object.entries(ids)) {
        const text = document.getElementById(elementId).value.trim();
        if (text) body[key] = text;
      }
      try {
        const { data } = await api("POST", "/campaigns", body);
        go(`#/campaign/${enc(data.app)}/${enc(data.id)}`);
      } catch (error) {
        showError(form, error);
      }
    });
    main.append(
      heading(t("campaign.title")),
      appToolbar(choice, (value) => {
        app = value;
        replaceQuery(new URLSearchParams({ app }), main);
        load();
      }),
      status,
      list,
      h("section", { "aria-labelledby": "campaign-new-h" }, h("h2", { id: "campaign-new-h" }, t("campaign.new")), form),
    );
    return app ? load() : null;
  }

  // The campaign's name, period and ended page; only the changed fields are sent, and the page is shown again.
  function campaignEditSection(campaign) {
    const status = h("p", { class: "muted", role: "status", id: "campaign-edit-status" });
    const ids = { name: "campaign-edit-name", start: "campaign-edit-start", end: "campaign-edit-end", ended_scene: "campaign-edit-ended" };
    const form = formShell(
      { class: "stack", id: "campaign-edit" },
      h("p", { class: "hint" }, t("campaign.edit.hint")),
      field({ field: "name", id: ids.name, label: t("campaign.name"), value: campaign.name }),
      h(
        "div",
        { class: "row" },
        field({ field: "start", id: ids.start, label: t("campaign.start"), type: "date", value: campaign.start }),
        field({ field: "end", id: ids.end, label: t("campaign.end"), type: "date", value: campaign.end }),
      ),
      field({ field: "ended_scene", id: ids.ended_scene, label: t("campaign.ended_scene"), hint: t("campaign.ended_scene.hint"), value: campaign.ended_scene || "" }),
      h("div", { class: "actions" }, h("button", { type: "submit", id: "campaign-save" }, t("campaign.edit.save"))),
      status,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const value = (key) => document.getElementById(ids[key]).value.trim();
      const body = {};
      for (const key of ["name", "start", "end"]) if (value(key) !== campaign[key]) body[key] = value(key);
      const ended = value("ended_scene");
      if (ended !== (campaign.ended_scene || "")) body.ended_scene = ended || null;
      status.textContent = "";
      if (!Object.keys(body).length) {
        status.textContent = t("campaign.edit.unchanged");
        return;
      }
      const submit = document.getElementById("campaign-save");
      submit.disabled = true;
      try {
        const { data } = await api("PUT", campaign.links.self, body);
        go(`#/campaign/${enc(data.app)}/${enc(data.id)}?saved=1`);
      } catch (error) {
        showError(form, error);
        submit.disabled = false;
      }
    });
    return h("section", { class: "no-print", "aria-labelledby": "campaign-edit-h" }, h("h2", { id: "campaign-edit-h" }, t("campaign.edit")), form);
  }

  async function viewCampaign(main, params, app, id) {
    const box = h("div", { class: "stats", id: "funnel", "aria-live": "polite" }, h("p", { class: "muted" }, t("loading")));
    main.append(h("p", { class: "breadcrumb" }, h("a", { href: `#/campaigns?app=${enc(app)}` }, `← ${t("nav.campaigns")}`)));
    try {
      const [{ data: campaign }, { data: report }] = await Promise.all([
        api("GET", `/campaigns/${enc(app)}/${enc(id)}`),
        api("GET", `/campaigns/${enc(app)}/${enc(id)}/funnel`),
      ]);
      main.append(
        heading(campaign.name),
        ...(params.get("saved") ? [h("p", { class: "alert success", role: "status", id: "campaign-notice" }, t("campaign.edit.saved"))] : []),
        h(
          "dl",
          { class: "facts details" },
          fact(t("campaign.id"), h("code", {}, campaign.id)),
          h("div", { class: "fact", id: "campaign-period" }, h("dt", {}, t("campaign.period")), h("dd", {}, `${campaign.start} – ${campaign.end}`)),
          fact(t("campaign.state"), t(`campaign.status.${campaign.status}`)),
          fact(t("campaign.ended_scene.short"), campaign.ended_scene ? h("code", {}, campaign.ended_scene) : null),
        ),
        h("section", { "aria-labelledby": "funnel-h" }, h("h2", { id: "funnel-h" }, t("funnel.title")), box),
        h("section", { "aria-labelledby": "totals-h" }, h("h2", { id: "totals-h" }, t("campaign.totals")), totalsList(report.totals || {})),
        campaignEditSection(campaign),
      );
      renderFunnel(box, report);
    } catch (error) {
      main.append(heading(id), errorBox(error));
    }
  }

  function viewBatch(main, params) {
    const choice = chooseApp(params, OFFICIAL_ACCOUNTS);
    const results = h("div", { id: "batch-results", "aria-live": "polite" });
    const file = h("input", { type: "file", id: "batch-file", name: "file", accept: ".csv,text/csv" });
    const campaign = h("select", { id: "batch-campaign", name: "campaign" }, h("option", { value: "" }, t("campaign.none")));
    const submit = h("button", { type: "submit", id: "batch-submit" }, t("batch.submit"));
    const form = formShell(
      { class: "stack", id: "batch-form" },
      h("p", { class: "hint" }, t("batch.explain")),
      appField(choice, { id: "batch-app", onchange: (value) => loadCampaigns(value) }),
      field({ field: "batch", id: "batch-id", name: "batch", label: t("batch.id"), hint: t("batch.id.hint") }),
      field({ field: "campaign", id: "batch-campaign", label: t("campaign.of"), control: campaign }),
      field({ field: "csv", id: "batch-file", label: t("batch.file"), control: file, hint: t("batch.file.hint") }),
      h("div", { class: "actions" }, submit),
    );
    // The chosen account's campaigns (again when another account is chosen).
    function loadCampaigns(app) {
      campaign.replaceChildren(h("option", { value: "" }, t("campaign.none")));
      if (!app) return;
      api("GET", `/campaigns?${new URLSearchParams({ app })}`)
        .then(({ data }) => (data.items || []).forEach((c) => campaign.append(h("option", { value: c.id }, `${c.name} (${c.id})`))))
        .catch(() => null);
    }
    loadCampaigns(choice.app);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      if (!file.files.length) {
        showError(form, new ApiError(422, { message: t("batch.file.missing"), field: "csv" }));
        return;
      }
      const query = new URLSearchParams({ app: form.elements.app.value.trim() });
      if (form.elements.batch.value.trim()) query.set("batch", form.elements.batch.value.trim());
      if (campaign.value) query.set("campaign", campaign.value);
      submit.disabled = true;
      try {
        const response = await request("POST", `/batches?${query}`, await file.files[0].text(), "application/json", "text/csv");
        if (!response.ok) throw await failureOf(response);
        renderBatch(results, await response.json());
      } catch (error) {
        showError(form, error);
      } finally {
        submit.disabled = false;
      }
    });
    main.append(heading(t("batch.title")), form, results);
  }

  function renderBatch(box, data) {
    const zip = data.codes.length
      ? fileButton(t("batch.zip"), "livecodes.zip", () => fetchFile("POST", "/archives", { app: data.app, codes: data.codes }, "application/zip"), { id: "batch-zip" })
      : null;
    box.replaceChildren(
      h("p", { class: "alert success", role: "status", id: "batch-counts" }, t("batch.counts", data.counts)),
      h(
        "div",
        { class: "table-scroll" },
        h(
          "table",
          { id: "batch-table" },
          h("thead", {}, h("tr", {}, ["batch.row", "batch.status", "channel.scene", "live.link"].map((k) => h("th", { scope: "col" }, t(k))))),
          h(
            "tbody",
            {},
            data.rows.map((row) =>
              h(
                "tr",
                { "data-status": row.status },
                h("td", {}, String(row.row)),
                h("td", {}, t(`batch.status.${row.status}`)),
                h("td", {}, row.scene ? h("code", {}, row.scene) : "—"),
                h("td", {}, row.link ? h("code", { class: "wrap" }, row.link) : row.error ? errorText(new ApiError(0, row.error), true) : ""),
              ),
            ),
          ),
        ),
      ),
      zip ? h("div", { class: "actions" }, zip) : null,
    );
  }

  // --- routing, language ---------------------------------------------------------------------------------------

  const ROUTES = [
    [/^\/channels$/, viewChannels, "channels"],
    [/^\/new$/, viewNew, "new"],
    [/^\/channel\/([^/]+)\/([^/]+)$/, viewChannel, "channels"],
    [/^\/promoters$/, viewPromoters, "promoters"],
    [/^\/promoters\/new$/, viewPromoterNew, "promoters"],
    [/^\/promoter\/([^/]+)\/([^/]+)$/, viewPromoter, "promoters"],
    [/^\/team\/([^/]+)\/([^/]+)$/, viewTeam, "promoters"],
    [/^\/my-code$/, viewMyCode, "promoters"],
    [/^\/referrers$/, viewReferrers, "referrers"],
    [/^\/reminders$/, viewReminders, "reminders"],
    [/^\/reminders\/([^/]+)$/, viewNotification, "reminders"],
    [/^\/campaigns$/, viewCampaigns, "campaigns"],
    [/^\/campaign\/([^/]+)\/([^/]+)$/, viewCampaign, "campaigns"],
    [/^\/batch$/, viewBatch, "batch"],
  ];

  function applyStaticLabels() {
    document.documentElement.lang = t("html.lang");
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
    const toggle = document.getElementById("lang-toggle");
    toggle.textContent = t("lang.other");
    toggle.lang = t("lang.other.code");
    toggle.setAttribute("aria-label", t("lang.switch"));
  }

  async function route(options) {
    const raw = location.hash.replace(/^#/, "");
    if (!raw.startsWith("/")) {
      if (!raw) history.replaceState(null, "", "#/channels");
      else return;
    }
    const [path, query] = location.hash.replace(/^#/, "").split("?");
    const params = new URLSearchParams(query || "");
    for (const cleanup of cleanups) cleanup();
    cleanups = [];
    promoterLists = new Map();
    const main = document.getElementById("main");
    // Each view renders into its own element, so a slow answer for a page already left lands nowhere.
    const page = h("div", { class: "page" });
    main.replaceChildren(page);
    for (const link of document.querySelectorAll("#nav a")) link.removeAttribute("aria-current");
    let found = null;
    for (const [pattern, view, nav] of ROUTES) {
      const match = path.match(pattern);
      if (!match) continue;
      found = [view, match.slice(1).map((part) => decodeURIComponent(part))];
      const link = document.querySelector(`#nav a[data-route="${nav}"]`);
      if (link) link.setAttribute("aria-current", "page");
      break;
    }
    const focusHeading = !firstRender && !(options && options.keepFocus);
    firstRender = false;
    if (!found) {
      page.append(heading(t("error.notfound")));
    } else {
      await loadApps(); // the accounts' kinds and zones, for the picker and the times of every page
      if (!page.isConnected) return;
      await found[0](page, params, ...found[1]);
    }
    const title = main.querySelector("h1");
    // Move focus to the new page's heading, as a page load would, unless the view already put it somewhere.
    if (title && focusHeading && (document.activeElement === document.body || !main.contains(document.activeElement))) {
      title.focus();
    }
    document.title = title ? `${title.textContent} · ${t("brand")}` : t("brand");
    document.body.dataset.ready = path;
  }

  document.getElementById("lang-toggle").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    save(STORAGE.lang, lang);
    applyStaticLabels();
    route({ keepFocus: true });
  });
  document.getElementById("skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    document.getElementById("main").focus();
  });
  window.addEventListener("hashchange", () => route());
  applyStaticLabels();
  route();
})();
