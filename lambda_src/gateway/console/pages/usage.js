// My usage: each limit with a bar (used, remaining, when it resets).
import { api } from "../api.js";
import { Loading, count, duration, html, useLoad, usd } from "../ui.js";

const LABELS = {
  requests_per_minute: "Requests this minute",
  requests_per_day: "Requests today",
  tokens_per_day: "Tokens today",
  tokens_per_month: "Tokens this month",
  budget_usd_per_month: "Spend this month",
};

function figure(name, value) {
  return name.startsWith("budget") ? usd(value) : count(value);
}

export function LimitBar({ window: w }) {
  const label = LABELS[w.name] || w.name;
  const max = w.limit || 0;
  return html`<li class="limit">
    <div class="limit-head"><strong>${label}</strong><span>${figure(w.name, w.used)} of ${w.limit == null ? "no limit" : figure(w.name, w.limit)}</span></div>
    ${w.limit == null
      ? html`<div class="bar unlimited" aria-hidden="true"></div>`
      : html`<meter min="0" max=${max} low=${max * 0.8} high=${max * 0.95} optimum="0" value=${Math.min(w.used, max)} aria-label=${`${label}: ${figure(w.name, w.used)} used of ${figure(w.name, w.limit)}`}></meter>`}
    <small class="muted">${w.remaining == null ? "Unlimited" : `${figure(w.name, w.remaining)} remaining`} · resets in ${duration(w.resets_in_seconds)}</small>
  </li>`;
}

export function UsagePage() {
  const usage = useLoad(() => api.get("/me/usage"));
  return html`<section aria-labelledby="usage-title">
    <h1 id="usage-title">My usage</h1>
    <${Loading} state=${usage}>
      ${usage.data?.budget_flagged && html`<p class="warning" role="status">You have passed your budget's warning threshold this month.</p>`}
      <ul class="limits" data-testid="limits">
        ${(usage.data?.windows || []).map((w) => html`<${LimitBar} window=${w} />`)}
      </ul>
      ${usage.data && usage.data.windows.length === 0 && html`<p class="muted">No limits apply to you.</p>`}
    </${Loading}>
  </section>`;
}
