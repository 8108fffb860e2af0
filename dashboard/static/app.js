// paywatch dashboard: one page for the province overview (/p/CODE), a district's drill-down
// (/d/CODE) and a unit's year (/u/CODE). A snapshot of the view comes from /api/view; changes
// arrive as Server-Sent Events (rows of the live view, absolute values) and are merged in.
"use strict";

const TZ = "Asia/Ho_Chi_Minh";
const T = {
  vi: {
    title_children: "Tỷ lệ thanh toán trực tuyến — {name}, năm {year}",
    title_unit: "{name} — thanh toán trực tuyến năm {year}",
    kpi_transactions: "Giao dịch", kpi_dossiers: "Hồ sơ (QĐ 766)",
    share: "Tỷ lệ trực tuyến", target: "Chỉ tiêu", gap: "Chênh lệch",
    projection: "Dự kiến cả năm", still_needed: "Cần đạt phần còn lại của năm",
    online_total: "Trực tuyến / tổng", rank: "Hạng", unit: "Đơn vị", trend: "Xu hướng",
    spark: "Tỷ lệ theo ngày ({n} ngày)", below: "Dưới chỉ tiêu", above: "Đạt chỉ tiêu",
    no_target: "chưa giao", no_data: "chưa có dữ liệu", points: "điểm",
    projected_count_transactions: "{n} giao dịch", projected_count_dossiers: "{n} hồ sơ",
    unreachable: "không còn đạt được", secured: "đã chắc chắn đạt",
    level_district: "Huyện, thành phố", level_department: "Sở, ban, ngành",
    level_commune: "Xã, phường, thị trấn", level_province: "Tỉnh",
    trend_up: "tăng", trend_down: "giảm", trend_flat: "ổn định",
    daily: "Tỷ lệ trực tuyến theo ngày", monthly: "Tỷ lệ trực tuyến theo tháng",
    month: "Tháng", day: "Ngày", spark_short: "30 ngày", legend_share: "tỷ lệ trực tuyến", legend_target: "chỉ tiêu",
    updated: "Cập nhật lần cuối: {t} (giờ Việt Nam)", never: "Chưa có cập nhật nào",
    clock: "Bây giờ: {t}",
    stale: "Dữ liệu đã không được cập nhật {m} phút (từ {t}). Hệ thống xử lý có thể đã dừng.",
    stale_never: "Chưa nhận được cập nhật nào từ hệ thống xử lý.",
    no_redis: "Mất kết nối tới Redis: số liệu có thể đã cũ. Đang kết nối lại…",
    no_server: "Mất kết nối tới máy chủ bảng điều khiển. Đang kết nối lại…",
    error: "Không đọc được số liệu: {e}",
  },
  en: {
    title_children: "Online payment share — {name}, {year}",
    title_unit: "{name} — online payments in {year}",
    kpi_transactions: "Transactions", kpi_dossiers: "Dossiers (Decision 766)",
    share: "Online share", target: "Target", gap: "Gap",
    projection: "Projected year total", still_needed: "Share needed for the rest of the year",
    online_total: "Online / total", rank: "Rank", unit: "Unit", trend: "Trend",
    spark: "Daily share ({n} days)", below: "Below target", above: "On target",
    no_target: "none set", no_data: "no data yet", points: "pts",
    projected_count_transactions: "{n} transactions", projected_count_dossiers: "{n} dossiers",
    unreachable: "no longer reachable", secured: "already secured",
    level_district: "Districts and cities", level_department: "Departments",
    level_commune: "Communes, wards and towns", level_province: "Province",
    trend_up: "up", trend_down: "down", trend_flat: "flat",
    daily: "Daily online share", monthly: "Monthly online share",
    month: "Month", day: "Day", spark_short: "30 days", legend_share: "online share", legend_target: "target",
    updated: "Last update: {t} (Vietnam time)", never: "No update yet",
    clock: "Now: {t}",
    stale: "No update for {m} minutes (since {t}). The pipeline may have stopped.",
    stale_never: "No update has come from the pipeline yet.",
    no_redis: "Lost the connection to Redis: figures may be old. Reconnecting…",
    no_server: "Lost the connection to the dashboard server. Reconnecting…",
    error: "Cannot read the figures: {e}",
  },
};
const LOCALES = { vi: "vi-VN", en: "en-GB" };

const route = (() => {
  const m = location.pathname.match(/^\/([pdu])\/([^/]+)$/);
  const prefix = m ? m[1] : "p";
  return { prefix, kind: prefix === "u" ? "unit" : "children", code: m ? decodeURIComponent(m[2]) : "" };
})();
const params = new URLSearchParams(location.search);
const state = {
  lang: params.get("lang") || localStorage.getItem("paywatch-lang") || "vi",
  kpi: params.get("kpi") === "dossiers" ? "dossiers" : "transactions",
  year: params.get("year") || "",
  snap: null, rows: new Map(), es: null, connected: true,
  status: null, statusAt: 0, dirty: false, plots: [],
  loads: 0, // snapshots fetched (a reconnect that catches up from the change stream adds none)
};
window.paywatch = state;

function t(key, vars) {
  let s = (T[state.lang] || T.vi)[key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, v);
  return s;
}
function locale() { return LOCALES[state.lang] || "vi-VN"; }
function num(v) { return v === undefined || v === null || v === "" ? null : Number(v); }

// Numbers: percentages from the exact decimal Redis holds (style "percent" scales it by 100
// in decimal, so 0.3125 shows as 31,3 %, as a person rounds it).
function fmtPct(v) {
  if (v === null) return "—";
  return new Intl.NumberFormat(locale(), { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(v);
}
function fmtPoints(v) {
  if (v === null) return "—";
  const parts = new Intl.NumberFormat(locale(), {
    style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1, signDisplay: "exceptZero",
  }).formatToParts(v);
  const text = parts.filter((p) => p.type !== "percentSign" && p.type !== "literal").map((p) => p.value).join("");
  return `${text} ${t("points")}`;
}
function fmtInt(v) { return v === null ? "—" : new Intl.NumberFormat(locale(), { maximumFractionDigits: 0 }).format(v); }
function fmtTime(iso) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(locale(), {
    timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).format(new Date(iso));
}
function fmtDay(period) {
  const [y, m, d] = period.split("-");
  return state.lang === "vi" ? `${d}/${m}/${y}` : `${d}/${m}/${y}`;
}

function row(unit, period) { return state.rows.get(`${unit}|${period}`) || {}; }
function suffix() { return state.kpi === "dossiers" ? "_dossiers" : ""; }
function ratioOf(fields) { return num(fields[`ratio_${state.kpi}`]); }
function countsOf(fields) {
  return state.kpi === "dossiers"
    ? [num(fields.dossiers_online), num(fields.dossiers)]
    : [num(fields.transactions_online), num(fields.transactions)];
}
function targetOf(card, fields) { const v = num(fields.target); return v !== null ? v : card.target; }
function gapOf(card, fields) {
  const g = num(fields[`gap${suffix()}`]);
  if (g !== null) return g;
  return null;
}

function periodsOf(unit, kind) {
  const out = [];
  const prefix = `${unit}|${state.snap.year}-`;
  for (const key of state.rows.keys()) {
    if (!key.startsWith(prefix)) continue;
    const period = key.slice(unit.length + 1);
    if ((kind === "day") === (period.length === 10)) out.push(period);
  }
  return out.sort();
}

function trendOf(unit, yearFields) {
  const months = periodsOf(unit, "month");
  if (!months.length) return "";
  const recent = ratioOf(row(unit, months[months.length - 1]));
  const whole = ratioOf(yearFields);
  if (recent === null || whole === null) return "";
  const th = state.snap.trend_threshold;
  if (recent > whole + th) return "up";
  if (recent < whole - th) return "down";
  return "flat";
}

// The days of the sparkline: the last spark_days up to the head unit's newest day.
function sparkDays() {
  const days = periodsOf(state.snap.head.code, "day");
  if (!days.length) return [];
  const last = new Date(`${days[days.length - 1]}T00:00:00Z`);
  const out = [];
  for (let n = state.snap.spark_days - 1; n >= 0; n--) {
    out.push(new Date(last.getTime() - n * 86400000).toISOString().slice(0, 10));
  }
  return out;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}
function numCell(value, unit, field, cls) {
  return el("td", { class: cls, "data-unit": unit, "data-field": field, text: value });
}

function linkFor(card) {
  const kind = state.snap.default_kind[card.code] || "unit";
  const prefix = kind === "unit" ? "u" : card.level === "province" ? "p" : "d";
  const q = new URLSearchParams();
  if (state.kpi !== "transactions") q.set("kpi", state.kpi);
  if (state.lang !== "vi") q.set("lang", state.lang);
  const qs = q.toString();
  return `/${prefix}/${encodeURIComponent(card.code)}${qs ? "?" + qs : ""}`;
}

function plot(target, opts, data) {
  const p = new uPlot(opts, data, target);
  state.plots.push(p);
  return p;
}

const SHARE = { stroke: "#0072b2", width: 2, spanGaps: true };
const TARGET = { stroke: "#e69f00", width: 2, dash: [6, 4], points: { show: false } };

function spark(container, unit, card, days) {
  const xs = days.map(vnEpoch);
  const ys = days.map((d) => { const r = ratioOf(row(unit, d)); return r === null ? null : r * 100; });
  const target = targetOf(card, row(unit, state.snap.year));
  const tg = days.map(() => (target === null ? null : target * 100));
  const w = container.clientWidth || 160, h = container.clientHeight || 36;
  plot(container, {
    width: w, height: h, pxAlign: false, cursor: { show: false }, select: { show: false },
    legend: { show: false }, axes: [{ show: false }, { show: false }],
    scales: { x: { time: true }, y: { range: [0, 100] } },
    series: [{}, { ...SHARE, width: 1.5, points: { show: false } }, { ...TARGET, width: 1 }],
  }, [xs, ys, tg]);
}

function summary(card) {
  const f = row(card.code, state.snap.year);
  const sfx = suffix();
  const ratio = ratioOf(f), target = targetOf(card, f), gap = gapOf(card, f);
  const [online, total] = countsOf(f);
  const projected = num(f[`projected_total${sfx}`]);
  const needed = num(f[`required_rest_ratio${sfx}`]);
  const reachable = f[`reachable${sfx}`];
  const below = gap !== null && gap < 0;
  const shareCard = el("div", { class: `card ${gap === null ? "" : below ? "below" : "above"}`, id: "card-share" },
    el("div", { class: "label", text: t("share") }),
    el("div", { class: "value", "data-unit": card.code, "data-field": `ratio_${state.kpi}`, text: fmtPct(ratio) }),
    gap === null ? null : el("span", { class: `badge ${below ? "below" : "above"}`, text: below ? `▼ ${t("below")}` : `▲ ${t("above")}` }));
  const neededText = needed === null ? "—" : fmtPct(needed);
  const neededNote = needed === null ? "" : needed > 1 || reachable === "0" ? t("unreachable") : needed <= 0 ? t("secured") : "";
  return el("section", { class: "cards", "aria-label": t("share") },
    shareCard,
    el("div", { class: "card", id: "card-target" }, el("div", { class: "label", text: t("target") }),
      el("div", { class: "value", "data-unit": card.code, "data-field": "target", text: target === null ? t("no_target") : fmtPct(target) })),
    el("div", { class: "card", id: "card-gap" }, el("div", { class: "label", text: t("gap") }),
      el("div", { class: "value", "data-unit": card.code, "data-field": `gap${sfx}`, text: fmtPoints(gap) })),
    el("div", { class: "card", id: "card-projection" }, el("div", { class: "label", text: t("projection") }),
      el("div", { class: "value", "data-unit": card.code, "data-field": `projected_total${sfx}`,
        text: projected === null ? "—" : t(`projected_count_${state.kpi}`, { n: fmtInt(Math.round(projected)) }) })),
    el("div", { class: "card", id: "card-needed" }, el("div", { class: "label", text: t("still_needed") }),
      el("div", { class: "value", "data-unit": card.code, "data-field": `required_rest_ratio${sfx}`, text: neededText }),
      neededNote ? el("div", { class: "sub", text: neededNote }) : null),
    el("div", { class: "card", id: "card-counts" }, el("div", { class: "label", text: t("online_total") }),
      el("div", { class: "value" },
        el("span", { "data-unit": card.code, "data-field": `${state.kpi}_online`, text: fmtInt(online) }),
        " / ",
        el("span", { "data-unit": card.code, "data-field": state.kpi, text: fmtInt(total) }))),
  );
}

function ranked(cards) {
  const withRatio = [], without = [];
  for (const c of cards) (ratioOf(row(c.code, state.snap.year)) === null ? without : withRatio).push(c);
  // Best first; ties as Redis ranks them (ZREVRANGE: the greater code first).
  withRatio.sort((a, b) => ratioOf(row(b.code, state.snap.year)) - ratioOf(row(a.code, state.snap.year))
    || (a.code < b.code ? 1 : a.code > b.code ? -1 : 0));
  without.sort((a, b) => (a.code < b.code ? -1 : 1));
  return [withRatio, without];
}

function table(level, cards, days) {
  const [withRatio, without] = ranked(cards);
  const body = el("tbody");
  const sparks = [];
  [...withRatio, ...without].forEach((card, i) => {
    const f = row(card.code, state.snap.year);
    const ratio = ratioOf(f), target = targetOf(card, f), gap = gapOf(card, f);
    const [online, total] = countsOf(f);
    const below = gap !== null && gap < 0;
    const tr = trendOf(card.code, f);
    const sparkBox = el("div", { class: "spark", role: "img", "aria-label": t("spark", { n: days.length }) });
    sparks.push([sparkBox, card]);
    body.append(el("tr", { class: below ? "below" : null, "data-unit": card.code },
      el("td", { "data-unit": card.code, "data-field": "rank", text: ratio === null ? "—" : String(i + 1) }),
      el("td", { class: "name" }, el("a", { href: linkFor(card), text: card.name }),
        below ? el("span", { class: "badge below", text: `▼ ${t("below")}` }) : null),
      numCell(fmtPct(ratio), card.code, `ratio_${state.kpi}`),
      numCell(target === null ? t("no_target") : fmtPct(target), card.code, "target", "wide"),
      numCell(fmtPoints(gap), card.code, `gap${suffix()}`),
      el("td", { class: "trend wide", title: tr ? t(`trend_${tr}`) : "" },
        tr ? el("span", { "aria-label": t(`trend_${tr}`), text: { up: "↑", down: "↓", flat: "→" }[tr] } ) : "",
        tr ? el("span", { class: "wide", text: ` ${t(`trend_${tr}`)}` }) : null),
      el("td", {}, sparkBox),
      el("td", { class: "wide" },
        el("span", { "data-unit": card.code, "data-field": `${state.kpi}_online`, text: fmtInt(online) }), " / ",
        el("span", { "data-unit": card.code, "data-field": state.kpi, text: fmtInt(total) })),
    ));
  });
  const head = el("thead", {}, el("tr", {},
    el("th", { text: t("rank") }), el("th", { class: "name", text: t("unit") }), el("th", { text: t("share") }),
    el("th", { class: "wide", text: t("target") }), el("th", { text: t("gap") }), el("th", { class: "wide", text: t("trend") }),
    el("th", { title: t("spark", { n: days.length }), text: t("spark_short") }), el("th", { class: "wide", text: t("online_total") })));
  const section = el("section", { "data-level": level },
    el("h2", { text: t(`level_${level}`) }),
    el("div", { class: "table-wrap" }, el("table", { id: `table-${level}` }, head, body)));
  return [section, sparks];
}

function renderChildren(main) {
  const snap = state.snap;
  main.append(summary(snap.head));
  const days = sparkDays();
  const byLevel = new Map();
  for (const card of snap.units.slice(1)) {
    if (!byLevel.has(card.level)) byLevel.set(card.level, []);
    byLevel.get(card.level).push(card);
  }
  const allSparks = [];
  for (const level of ["district", "commune", "department"]) {
    if (!byLevel.has(level)) continue;
    const [section, sparks] = table(level, byLevel.get(level), days);
    main.append(section);
    allSparks.push(...sparks);
  }
  for (const [box, card] of allSparks) spark(box, card.code, card, days);
}

// Midnight in Vietnam of a day ("2022-03-01") or month ("2022-03"), in epoch seconds.
function vnEpoch(period) {
  return Date.parse(`${period.length === 7 ? period + "-01" : period}T00:00:00+07:00`) / 1000;
}

const HALF_MONTH_S = 15 * 86400;

function chart(container, title, periods, card, monthly) {
  const year = state.snap.year;
  // Days at their midnight in Vietnam; months in their middle, under their label.
  const months = Array.from({ length: 12 }, (_, i) => vnEpoch(`${year}-${String(i + 1).padStart(2, "0")}`));
  const first = months[0], last = vnEpoch(`${year}-12-31`) + 86400;
  // The year's first and last instants carry no share, only the target: its line spans the year.
  const xs = [first, ...periods.map((p) => vnEpoch(p) + (monthly ? HALF_MONTH_S : 0)), last];
  const ys = [null, ...periods.map((p) => { const r = ratioOf(row(card.code, p)); return r === null ? null : r * 100; }), null];
  const target = targetOf(card, row(card.code, year));
  const tg = xs.map(() => (target === null ? null : target * 100));
  const width = Math.max(280, container.clientWidth - 16);
  const share = monthly
    ? { ...SHARE, label: t("legend_share"), fill: "rgba(0,114,178,0.35)", paths: uPlot.paths.bars({ size: [0.6, 60] }), points: { show: false } }
    : { ...SHARE, label: t("legend_share") };
  const pctValue = (u, v) => (v === null || v === undefined ? "—" : fmtPct(v / 100));
  const dayLabel = (ts) => new Intl.DateTimeFormat(locale(), { timeZone: TZ, day: "2-digit", month: "2-digit" }).format(new Date(ts * 1000));
  const monthLabel = (ts) => new Intl.DateTimeFormat(locale(), { timeZone: TZ, month: "short" }).format(new Date(ts * 1000));
  plot(container, {
    title, width, height: width < 500 ? 220 : 300,
    scales: { x: { time: false, range: [first, last] }, y: { range: [0, 100] } },
    axes: [
      {
        splits: () => (monthly ? months.map((m) => m + HALF_MONTH_S) : months),
        values: (u, splits) => splits.map((ts) => monthLabel(ts)),
        space: 30,
      },
      { values: (u, vals) => vals.map((v) => `${v}%`) },
    ],
    series: [
      { label: t(monthly ? "month" : "day"), value: (u, ts) => (ts === null ? "—" : monthly ? monthLabel(ts) : dayLabel(ts)) },
      { ...share, value: pctValue },
      { ...TARGET, label: t("legend_target"), value: pctValue },
    ],
  }, [xs, ys, tg]);
}

function renderUnit(main) {
  const snap = state.snap, card = snap.head;
  main.append(summary(card));
  const charts = el("section", { class: "charts" });
  const daily = el("div", { class: "chart", id: "chart-daily" });
  const monthly = el("div", { class: "chart", id: "chart-monthly" });
  charts.append(daily, monthly);
  main.append(charts);
  const months = periodsOf(card.code, "month");
  const body = el("tbody");
  for (const m of months) {
    const f = row(card.code, m);
    const [online, total] = countsOf(f);
    body.append(el("tr", { "data-period": m },
      el("td", { class: "name", text: `${m.slice(5)}/${m.slice(0, 4)}` }),
      numCell(fmtPct(ratioOf(f)), card.code, `ratio_${state.kpi}`),
      el("td", {},
        el("span", { "data-unit": card.code, "data-period": m, "data-field": `${state.kpi}_online`, text: fmtInt(online) }), " / ",
        el("span", { "data-unit": card.code, "data-period": m, "data-field": state.kpi, text: fmtInt(total) }))));
    body.lastChild.children[1].setAttribute("data-period", m);
  }
  main.append(el("section", {}, el("h2", { text: t("monthly") }),
    el("div", { class: "table-wrap" }, el("table", { id: "table-months" },
      el("thead", {}, el("tr", {}, el("th", { class: "name", text: t("month") }), el("th", { text: t("share") }),
        el("th", { text: t("online_total") }))), body))));
  chart(daily, t("daily"), periodsOf(card.code, "day"), card, false);
  chart(monthly, t("monthly"), months, card, true);
}

function renderHeader() {
  const snap = state.snap;
  document.documentElement.lang = state.lang;
  const name = snap ? snap.head.name : "";
  const title = snap ? t(snap.kind === "unit" ? "title_unit" : "title_children", { name, year: snap.year }) : "paywatch";
  document.getElementById("title").textContent = title;
  document.title = `paywatch — ${title}`;
  for (const k of ["transactions", "dossiers"]) {
    const b = document.getElementById(`kpi-${k}`);
    b.textContent = t(`kpi_${k}`);
    b.setAttribute("aria-pressed", String(state.kpi === k));
  }
  for (const l of ["vi", "en"]) document.getElementById(`lang-${l}`).setAttribute("aria-pressed", String(state.lang === l));
  const crumbs = document.getElementById("crumbs");
  crumbs.replaceChildren();
  if (snap) for (const a of snap.ancestors) crumbs.append(el("a", { href: linkFor(a), text: a.name }), "›");
  const years = document.getElementById("years");
  years.replaceChildren();
  if (snap) for (const y of snap.years) {
    const q = new URLSearchParams(location.search); q.set("year", y);
    years.append(el("a", { href: `?${q}`, "aria-current": String(y === snap.year), text: y }));
  }
}

function render() {
  state.dirty = false;
  for (const p of state.plots) p.destroy();
  state.plots = [];
  renderHeader();
  const main = document.getElementById("main");
  main.replaceChildren();
  if (!state.snap) return;
  if (state.snap.kind === "unit") renderUnit(main); else renderChildren(main);
  renderFreshness();
}
// At most two redraws a second however fast the rows come (a phone's battery, a wall
// screen's CPU); the rows themselves are merged as they arrive.
const RENDER_EVERY_MS = 500;
let lastRender = 0;
function scheduleRender() {
  if (state.dirty) return;
  state.dirty = true;
  const wait = Math.max(0, lastRender + RENDER_EVERY_MS - performance.now());
  setTimeout(() => requestAnimationFrame(() => { lastRender = performance.now(); render(); }), wait);
}

// The freshness banner: loud when the newest update is older than the server's threshold,
// when Redis is unreachable, or when this page lost its server.
function renderFreshness() {
  const banner = document.getElementById("freshness");
  const s = state.status;
  let text = "";
  let age = null;
  if (s && s.age_s !== null) age = s.age_s + (performance.now() - state.statusAt) / 1000;
  if (!state.connected) text = t("no_server");
  else if (s && !s.redis) text = t("no_redis");
  else if (s && s.newest_update === null) text = t("stale_never");
  else if (s && age !== null && age > s.stale_after_s) text = t("stale", { m: fmtInt(Math.floor(age / 60)), t: fmtTime(s.newest_update) });
  banner.hidden = !text;
  banner.textContent = text;
  banner.className = text ? "freshness stale" : "freshness";
  document.getElementById("updated").textContent = s && s.newest_update ? t("updated", { t: fmtTime(s.newest_update) }) : t("never");
  document.getElementById("clock").textContent = t("clock", { t: fmtTime(new Date().toISOString()) });
}

function setStatus(s) { state.status = s; state.statusAt = performance.now(); renderFreshness(); }

let retry = null;
async function load() {
  if (state.es) { state.es.close(); state.es = null; }
  const q = state.year ? `?year=${encodeURIComponent(state.year)}` : "";
  try {
    const resp = await fetch(`/api/view/${route.kind}/${encodeURIComponent(route.code)}${q}`, { cache: "no-store" });
    state.loads += 1;
    const body = await resp.json();
    if (!resp.ok) throw new Error(body.error || resp.statusText);
    state.snap = body;
    state.rows = new Map(body.rows.map(([u, p, f]) => [`${u}|${p}`, f]));
    state.connected = true;
    setStatus(body.status);
    render();
    listen(body.cursor);
  } catch (err) {
    const main = document.getElementById("main");
    main.replaceChildren(el("p", { class: "error", id: "load-error", text: t("error", { e: err.message }) }));
    setStatus({ redis: false, age_s: null, newest_update: null, stale_after_s: 0 });
    clearTimeout(retry);
    retry = setTimeout(load, 2000);
  }
}

// The browser reconnects by itself, naming the last event id it saw (Last-Event-ID); when it
// gives up (the server answered something else than the stream while restarting), a new
// stream starts from that id, so the page still catches up instead of fetching everything.
function listen(since) {
  const snap = state.snap;
  state.since = since;
  const url = `/api/events/${snap.kind}/${encodeURIComponent(snap.head.code)}/${snap.year}?since=${encodeURIComponent(since)}`;
  const es = new EventSource(url);
  state.es = es;
  es.addEventListener("open", () => { state.connected = true; renderFreshness(); });
  es.addEventListener("error", () => {
    state.connected = false;
    renderFreshness();
    if (es.readyState === EventSource.CLOSED) {
      setTimeout(() => { if (state.es === es) listen(state.since); }, 2000);
    }
  });
  es.addEventListener("rows", (e) => {
    const data = JSON.parse(e.data);
    for (const [u, p, f] of data.rows) state.rows.set(`${u}|${p}`, f);
    if (e.lastEventId) state.since = e.lastEventId;
    scheduleRender();
  });
  es.addEventListener("status", (e) => { state.connected = true; setStatus(JSON.parse(e.data)); });
  es.addEventListener("reset", () => { es.close(); state.es = null; load(); });
}

function setParam(name, value, dflt) {
  const q = new URLSearchParams(location.search);
  if (value === dflt) q.delete(name); else q.set(name, value);
  history.replaceState(null, "", `${location.pathname}${q.toString() ? "?" + q : ""}`);
}

document.getElementById("kpi-switch").addEventListener("click", (e) => {
  const k = e.target.getAttribute("data-kpi");
  if (!k) return;
  state.kpi = k; setParam("kpi", k, "transactions"); render();
});
document.getElementById("lang-switch").addEventListener("click", (e) => {
  const l = e.target.getAttribute("data-lang");
  if (!l) return;
  state.lang = l; localStorage.setItem("paywatch-lang", l); setParam("lang", l, "vi"); render();
});
let resizeTimer = null;
window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(render, 200); });
setInterval(renderFreshness, 1000);
load();
