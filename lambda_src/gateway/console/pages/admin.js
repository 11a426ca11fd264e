// The admin dashboard (cost over time, model shares, users by cost), a user's page, and bot governance.
import { api } from "../api.js";
import { CostChart, ShareBars } from "../charts.js";
import { ErrorNote, Field, Loading, count, html, useAction, useLoad, useMemo, useState, usd, when } from "../ui.js";

const pad = (n) => String(n).padStart(2, "0");

/** /admin/users windows: today, or this calendar month (YYYYMMDDHH, UTC). */
function windowOf(name) {
  const now = new Date();
  const y = now.getUTCFullYear();
  const m = pad(now.getUTCMonth() + 1);
  if (name === "month") {
    const last = new Date(Date.UTC(y, now.getUTCMonth() + 1, 0)).getUTCDate();
    return { start: `${y}${m}0100`, end: `${y}${m}${pad(last)}23` };
  }
  const d = pad(now.getUTCDate());
  return { start: `${y}${m}${d}00`, end: `${y}${m}${d}23` };
}

function UsersByCost() {
  const [period, setPeriod] = useState("day");
  const [pages, setPages] = useState([null]); // next_token of each page seen; the last is the current one
  const token = pages[pages.length - 1];
  const users = useLoad(() => api.get("/admin/users", { query: { ...windowOf(period), limit: 10, include_all: "true", next_token: token } }), [period, token]);
  return html`<section aria-labelledby="users-title" class="panel">
    <h2 id="users-title">Users by cost</h2>
    <${Field} label="Window">
      <select value=${period} onChange=${(e) => {
        setPeriod(e.target.value);
        setPages([null]);
      }}><option value="day">Today (UTC)</option><option value="month">This month</option></select>
    </${Field}>
    <${Loading} state=${users}>
      <div class="table-wrap">
        <table data-testid="users-table">
          <caption class="sr-only">Users by cost</caption>
          <thead><tr><th scope="col">User</th><th scope="col">Cost</th><th scope="col">Tokens in / out</th><th scope="col">Conversations</th><th scope="col">Last sign-in</th></tr></thead>
          <tbody>
            ${(users.data?.users || []).map(
              (u) => html`<tr>
                <td>${u.bot_id
                  ? html`${u.bot_title || u.bot_id} <small class="muted">(a published bot)</small>`
                  : html`<a href=${`#/admin/user?id=${encodeURIComponent(u.user_id)}`}>${u.email || u.user_id}</a>`}</td>
                <td>${usd(u.cost_usd)}</td>
                <td>${count(u.input_tokens)} / ${count(u.output_tokens)}</td>
                <td>${u.conversation_count}</td>
                <td>${when(u.last_sign_in)}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <div class="actions">
        <button type="button" disabled=${pages.length < 2} onClick=${() => setPages(pages.slice(0, -1))}>Previous page</button>
        <button type="button" disabled=${!users.data?.next_token} onClick=${() => setPages([...pages, users.data.next_token])}>Next page</button>
      </div>
    </${Loading}>
  </section>`;
}

/** Every day or month of the window, with zeros where nothing happened: the time axis is the window's. */
export function fullSeries(report) {
  const known = new Map(report.series.map((point) => [point.period, point]));
  const periods = [];
  const cursor = new Date(report.start);
  const last = new Date(report.end);
  cursor.setUTCHours(0, 0, 0, 0);
  if (report.granularity === "month") cursor.setUTCDate(1);
  while (cursor <= last && periods.length < 400) {
    const y = cursor.getUTCFullYear();
    const m = pad(cursor.getUTCMonth() + 1);
    periods.push(report.granularity === "month" ? `${y}-${m}` : `${y}-${m}-${pad(cursor.getUTCDate())}`);
    if (report.granularity === "month") cursor.setUTCMonth(cursor.getUTCMonth() + 1);
    else cursor.setUTCDate(cursor.getUTCDate() + 1);
  }
  const empty = { requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, conversations: 0 };
  return periods.map((period) => known.get(period) || { period, ...empty });
}

export function AdminDashboard() {
  const [granularity, setGranularity] = useState("day");
  const analytics = useLoad(() => api.get("/admin/analytics", { query: { granularity } }), [granularity]);
  const a = analytics.data;
  const series = useMemo(() => (a ? fullSeries(a) : []), [a]);
  return html`<section aria-labelledby="admin-title">
    <h1 id="admin-title">Admin dashboard</h1>
    <p class="actions"><a class="button" href="#/admin/bots">Bot governance</a></p>
    <section class="panel" aria-labelledby="trend-title">
      <h2 id="trend-title">Cost and requests</h2>
      <${Field} label="Granularity">
        <select value=${granularity} onChange=${(e) => setGranularity(e.target.value)}><option value="day">Day (last 30 days)</option><option value="month">Month (last 12 months)</option></select>
      </${Field}>
      <${Loading} state=${analytics}>
        ${a &&
        html`<dl class="totals">
            <div><dt>Cost</dt><dd data-testid="total-cost">${usd(a.totals.cost_usd)}</dd></div>
            <div><dt>Requests</dt><dd data-testid="total-requests">${count(a.totals.requests)}</dd></div>
            <div><dt>Tokens</dt><dd>${count(a.totals.input_tokens + a.totals.output_tokens)}</dd></div>
            <div><dt>New conversations</dt><dd>${count(a.totals.conversations)}</dd></div>
          </dl>
          <${CostChart} series=${series} granularity=${a.granularity} label=${`Cost and requests per ${a.granularity}, ${a.start.slice(0, 10)} to ${a.end.slice(0, 10)}`} />
          <h3>Model shares of cost</h3>
          ${a.models.length ? html`<${ShareBars} items=${a.models} label="Each model's share of the cost" />` : html`<p class="muted">No model calls in this window.</p>`}`}
      </${Loading}>
    </section>
    <${UsersByCost} />
  </section>`;
}

async function loadUser(userId) {
  const q = { username: userId };
  const [user, groups, allGroups, costs, conversations, audit, limits] = await Promise.all([
    api.get("/admin/getUser", { query: q }),
    api.get("/admin/listGroupsForUser", { query: q }),
    api.get("/admin/listGroups"),
    api.get(`/admin/costs/users/${encodeURIComponent(userId)}`),
    api.get(`/admin/users/${encodeURIComponent(userId)}/conversations`),
    api.get(`/admin/audit-logs/user/${encodeURIComponent(userId)}`, { query: { limit: 20 } }),
    api.get(`/admin/users/${encodeURIComponent(userId)}/limits`),
  ]);
  return { user, groups: groups.Groups.map((g) => g.GroupName), allGroups: allGroups.Groups.map((g) => g.GroupName), costs, conversations, audit, limits };
}

const LIMIT_FIELDS = [
  ["requests_per_minute", "Requests per minute"],
  ["requests_per_day", "Requests per day"],
  ["tokens_per_day", "Tokens per day"],
  ["tokens_per_month", "Tokens per month"],
  ["budget_usd_per_month", "Budget per month (USD)"],
  ["budget_soft_threshold", "Budget warning threshold (0-1)"],
];

function LimitsForm({ userId, limits, onSaved }) {
  const [form, setForm] = useState(Object.fromEntries(LIMIT_FIELDS.map(([name]) => [name, limits.override[name] ?? ""])));
  const [saved, setSaved] = useState(false);
  const save = useAction(async () => {
    setSaved(false);
    const body = Object.fromEntries(LIMIT_FIELDS.map(([name]) => [name, form[name] === "" ? null : Number(form[name])]));
    await api.put(`/admin/users/${encodeURIComponent(userId)}/limits`, body);
    setSaved(true);
    onSaved();
  });
  return html`<form onSubmit=${(e) => {
    e.preventDefault();
    save.run();
  }}>
    <p class="muted">Empty follows the group's limit (shown as the placeholder).</p>
    <div class="grid">
      ${LIMIT_FIELDS.map(
        ([name, label]) => html`<${Field} label=${label}><input type="number" min="0" step="any" value=${form[name]} placeholder=${limits.group_limits[name] ?? "no limit"} onInput=${(e) => setForm({ ...form, [name]: e.target.value })} /></${Field}>`,
      )}
    </div>
    <${ErrorNote} error=${save.error} />
    ${saved && html`<p class="ok" role="status">The limits are saved; they apply from the user's next request.</p>`}
    <div class="actions"><button type="submit" class="primary" disabled=${save.busy}>Save the limits</button></div>
  </form>`;
}

function Prompts({ userId, conversationId }) {
  const prompts = useLoad(() => api.get(`/admin/users/${encodeURIComponent(userId)}/conversations/${encodeURIComponent(conversationId)}/prompts`), [conversationId]);
  return html`<${Loading} state=${prompts}><ol class="prompts">${(prompts.data?.prompts || []).map((p) => html`<li><small class="muted">${when(p.created_at)}</small> ${p.content}</li>`)}</ol></${Loading}>`;
}

export function AdminUserPage({ params }) {
  const userId = params.id;
  const data = useLoad(() => loadUser(userId), [userId]);
  const [open, setOpen] = useState(null);
  const [group, setGroup] = useState("");
  const act = useAction(async (path, body) => {
    await api.post(path, body);
    data.reload();
  });
  const d = data.data;
  const enabled = d?.user.Enabled;
  const email = d?.user.UserAttributes?.find((a) => a.Name === "email")?.Value;
  return html`<section aria-labelledby="user-title">
    <p><a href="#/admin">Back to the dashboard</a></p>
    <h1 id="user-title">${email || userId}</h1>
    <${ErrorNote} error=${act.error} />
    <${Loading} state=${data}>
      ${d &&
      html`<p>Status: <strong data-testid="user-status">${enabled ? "enabled" : "disabled"}</strong> · ${d.user.UserStatus}</p>
        <div class="actions">
          ${enabled
            ? html`<button type="button" class="danger" onClick=${() => confirm(`Disable ${email || userId}? Their keys are revoked and sessions ended.`) && act.run("/admin/disableUser", { username: userId })}>Disable user</button>`
            : html`<button type="button" onClick=${() => act.run("/admin/enableUser", { username: userId })}>Enable user</button>`}
          <button type="button" onClick=${() => act.run("/admin/signUserOut", { username: userId })}>Sign out everywhere</button>
        </div>
        <section class="panel" aria-labelledby="groups-title">
          <h2 id="groups-title">Groups</h2>
          <ul class="tags">
            ${d.groups.map((g) => html`<li><span class="tag">${g}</span> <button type="button" class="link" aria-label=${`Remove from ${g}`} onClick=${() => act.run("/admin/removeUserFromGroup", { username: userId, groupname: g })}>remove</button></li>`)}
          </ul>
          <form class="row" onSubmit=${(e) => {
            e.preventDefault();
            if (group) act.run("/admin/addUserToGroup", { username: userId, groupname: group });
          }}>
            <${Field} label="Add to group">
              <select value=${group} onChange=${(e) => setGroup(e.target.value)}>
                <option value="">Choose a group</option>
                ${d.allGroups.filter((g) => !d.groups.includes(g)).map((g) => html`<option value=${g}>${g}</option>`)}
              </select>
            </${Field}>
            <button type="submit">Add</button>
          </form>
        </section>
        <section class="panel" aria-labelledby="cost-title">
          <h2 id="cost-title">Cost by model (this month)</h2>
          <p>Total ${usd(d.costs.cost_usd)} · ${count(d.costs.input_tokens)} tokens in · ${count(d.costs.output_tokens)} out · ${d.costs.conversation_count} conversations</p>
          <div class="table-wrap"><table><thead><tr><th scope="col">Model</th><th scope="col">Cost</th><th scope="col">Requests</th><th scope="col">Tokens in / out</th></tr></thead>
            <tbody>${d.costs.by_model.map((m) => html`<tr><td>${m.model_id}</td><td>${usd(m.cost_usd)}</td><td>${m.requests}</td><td>${count(m.input_tokens)} / ${count(m.output_tokens)}</td></tr>`)}</tbody></table></div>
        </section>
        <section class="panel" aria-labelledby="limits-title">
          <h2 id="limits-title">Limits override</h2>
          <${LimitsForm} userId=${userId} limits=${d.limits} onSaved=${() => data.reload()} />
        </section>
        <section class="panel" aria-labelledby="conv-title">
          <h2 id="conv-title">Conversations and prompts</h2>
          <ul>
            ${d.conversations.conversations.map(
              (c) => html`<li>
                <button type="button" class="link" aria-expanded=${open === c.conversation_id} onClick=${() => setOpen(open === c.conversation_id ? null : c.conversation_id)}>${c.title || "Untitled"}</button>
                <small class="muted"> ${when(c.created_at)}${c.deleted ? " · deleted by the user" : ""}${c.bot_id ? ` · with the bot ${c.bot_title || c.bot_id}` : ""}</small>
                ${open === c.conversation_id && html`<${Prompts} userId=${userId} conversationId=${c.conversation_id} />`}
              </li>`,
            )}
          </ul>
        </section>
        <section class="panel" aria-labelledby="audit-title">
          <h2 id="audit-title">Audit log (latest 20)</h2>
          <div class="table-wrap"><table><thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Resource</th><th scope="col">Result</th></tr></thead>
            <tbody>${d.audit.events.map((e) => html`<tr><td>${when(e.timestamp)}</td><td>${e.action}</td><td>${e.resource || ""}</td><td>${e.success ? "ok" : e.error || "failed"}</td></tr>`)}</tbody></table></div>
        </section>`}
    </${Loading}>
  </section>`;
}

function GovernedBot({ bot, onChange }) {
  const govern = useAction(async (body) => {
    await api.patch(`/admin/bots/${encodeURIComponent(bot.bot_id)}`, body);
    onChange();
  });
  const unpublish = useAction(async () => {
    if (!confirm(`Unpublish ${bot.title}? Its API keys stop working at once.`)) return;
    await api.del(`/bots/${encodeURIComponent(bot.bot_id)}/publication`);
    onChange();
  });
  return html`<tr>
    <td>${bot.title}</td>
    <td>${bot.visibility || "visible"}</td>
    <td>${bot.essential ? "yes" : "no"}</td>
    <td>${bot.published ? "yes" : "no"}</td>
    <td class="actions">
      <button type="button" onClick=${() => govern.run({ visibility: bot.visibility === "hidden" ? "visible" : "hidden" })} aria-label=${`${bot.visibility === "hidden" ? "Show" : "Hide"} ${bot.title}`}>${bot.visibility === "hidden" ? "Show" : "Hide"}</button>
      <button type="button" onClick=${() => govern.run({ essential: !bot.essential })} aria-label=${`${bot.essential ? "Unmark" : "Mark"} ${bot.title} essential`}>${bot.essential ? "Not essential" : "Essential"}</button>
      ${bot.published && html`<button type="button" class="danger" onClick=${() => unpublish.run()} aria-label=${`Unpublish ${bot.title}`}>Unpublish</button>`}
      <${ErrorNote} error=${govern.error || unpublish.error} />
    </td>
  </tr>`;
}

export function AdminBotsPage() {
  const [botId, setBotId] = useState("");
  const [looked, setLooked] = useState([]);
  const store = useLoad(() => api.get("/bots/store", { query: { limit: 100 } }));
  const lookUp = useAction(async () => {
    const bot = await api.get(`/bots/${encodeURIComponent(botId.trim())}`);
    setLooked([bot, ...looked.filter((b) => b.bot_id !== bot.bot_id)]);
  });
  const refresh = async () => {
    store.reload();
    setLooked(await Promise.all(looked.map((b) => api.get(`/bots/${encodeURIComponent(b.bot_id)}`))));
  };
  const bots = [...looked, ...(store.data?.bots || []).filter((b) => !looked.some((l) => l.bot_id === b.bot_id))];
  return html`<section aria-labelledby="gov-title">
    <p><a href="#/admin">Back to the dashboard</a></p>
    <h1 id="gov-title">Bot governance</h1>
    <p class="muted">The store's bots; a hidden bot is out of the store: open it by its id.</p>
    <form class="row" onSubmit=${(e) => {
      e.preventDefault();
      lookUp.run();
    }}>
      <${Field} label="Bot id"><input value=${botId} onInput=${(e) => setBotId(e.target.value)} /></${Field}>
      <button type="submit">Open</button>
    </form>
    <${ErrorNote} error=${lookUp.error} />
    <${Loading} state=${store}>
      <div class="table-wrap"><table>
        <thead><tr><th scope="col">Bot</th><th scope="col">Visibility</th><th scope="col">Essential</th><th scope="col">Published</th><th scope="col">Actions</th></tr></thead>
        <tbody>${bots.map((bot) => html`<${GovernedBot} bot=${bot} onChange=${refresh} />`)}</tbody>
      </table></div>
    </${Loading}>
  </section>`;
}
