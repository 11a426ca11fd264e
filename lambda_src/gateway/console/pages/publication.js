// Publishing a bot as an API (PublishAllowed, the bot's owner): settings, keys, usage, unpublish.
import { api } from "../api.js";
import { ErrorNote, Field, Loading, SecretOnce, count, html, useAction, useLoad, useState, usd, when } from "../ui.js";

async function loadPublication(botId) {
  try {
    return await api.get(`/bots/${encodeURIComponent(botId)}/publication`);
  } catch (error) {
    if (error.status === 404) return null; // not published
    throw error;
  }
}

function PublishForm({ botId, onDone }) {
  const [form, setForm] = useState({ rate_limit: 5, burst_limit: 10, limit: 1000, period: "DAY" });
  const set = (name) => (e) => setForm({ ...form, [name]: e.target.value });
  const publish = useAction(async () => {
    const answer = await api.post(`/bots/${encodeURIComponent(botId)}/publication`, {
      throttle: { rate_limit: Number(form.rate_limit), burst_limit: Number(form.burst_limit) },
      quota: { limit: Number(form.limit), period: form.period, offset: 0 },
    });
    onDone(answer.key);
  });
  return html`<form onSubmit=${(e) => {
    e.preventDefault();
    publish.run();
  }}>
    <div class="row">
      <${Field} label="Requests per second"><input type="number" min="0.1" step="0.1" required value=${form.rate_limit} onInput=${set("rate_limit")} /></${Field}>
      <${Field} label="Burst"><input type="number" min="1" required value=${form.burst_limit} onInput=${set("burst_limit")} /></${Field}>
    </div>
    <div class="row">
      <${Field} label="Quota (requests)"><input type="number" min="1" required value=${form.limit} onInput=${set("limit")} /></${Field}>
      <${Field} label="Per">
        <select value=${form.period} onChange=${set("period")}><option value="DAY">day</option><option value="WEEK">week</option><option value="MONTH">month</option></select>
      </${Field}>
    </div>
    <${ErrorNote} error=${publish.error} />
    <button type="submit" class="primary" disabled=${publish.busy}>Publish</button>
  </form>`;
}

export function PublicationPage({ params }) {
  const botId = params.id;
  const publication = useLoad(() => loadPublication(botId), [botId]);
  const [newKey, setNewKey] = useState(null);
  const base = `/bots/${encodeURIComponent(botId)}/publication`;
  const addKey = useAction(async () => {
    setNewKey(await api.post(`${base}/api-keys`));
    publication.reload();
  });
  const revoke = useAction(async (keyId) => {
    if (!confirm(`Revoke the key ${keyId}?`)) return;
    await api.del(`${base}/api-keys/${encodeURIComponent(keyId)}`);
    publication.reload();
  });
  const unpublish = useAction(async () => {
    if (!confirm("Unpublish this bot? Its keys stop working at once.")) return;
    await api.del(base);
    setNewKey(null);
    publication.reload();
  });
  const p = publication.data;
  return html`<section aria-labelledby="pub-title">
    <h1 id="pub-title">Publication</h1>
    <p><a href=${`#/bots/edit?id=${encodeURIComponent(botId)}`}>Back to the bot</a></p>
    ${newKey && html`<${SecretOnce} label=${`Bot key ${newKey.key_id}`} value=${newKey.api_key} />`}
    <${Loading} state=${publication}>
      ${p === null
        ? html`<p>This bot is not published. Publishing makes it an API other systems call with a key of its own.</p>
            <${PublishForm} botId=${botId} onDone=${(key) => {
              setNewKey(key);
              publication.reload();
            }} />`
        : p &&
          html`<dl class="facts">
              <dt>Endpoint</dt><dd><code>${p.endpoint}</code></dd>
              <dt>Throttle</dt><dd>${p.throttle.rate_limit} requests/s, burst ${p.throttle.burst_limit}</dd>
              <dt>Quota</dt><dd>${count(p.quota.limit)} per ${p.quota.period.toLowerCase()}</dd>
              <dt>Published</dt><dd>${when(p.created_at)}</dd>
              <dt>Today</dt><dd>${count(p.usage.today.requests)} calls · ${usd(p.usage.today.cost_usd)}</dd>
              <dt>This month</dt><dd>${count(p.usage.this_month.requests)} calls · ${usd(p.usage.this_month.cost_usd)}</dd>
            </dl>
            <h2>Keys</h2>
            <ul>
              ${p.keys.map(
                (k) => html`<li><code>${k.key_id}</code> ${k.state} ${k.state === "active" && html`<button type="button" class="danger" aria-label=${`Revoke bot key ${k.key_id}`} onClick=${() => revoke.run(k.key_id)}>Revoke</button>`}</li>`,
              )}
            </ul>
            <${ErrorNote} error=${addKey.error || revoke.error || unpublish.error} />
            <div class="actions">
              <button type="button" onClick=${() => addKey.run()} disabled=${addKey.busy}>Add a key</button>
              <button type="button" class="danger" onClick=${() => unpublish.run()}>Unpublish</button>
            </div>`}
    </${Loading}>
  </section>`;
}
