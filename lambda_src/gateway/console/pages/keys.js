// My API keys: make one (its value shown once), revoke one, choose the one the console uses.
import { api, forgetKey, useKey } from "../api.js";
import { ErrorNote, Loading, SecretOnce, html, useAction, useLoad, useState, when } from "../ui.js";

export function KeysPage() {
  const keys = useLoad(() => api.get("/me/api-keys", { key: false }));
  const [created, setCreated] = useState(null);
  const create = useAction(async () => {
    setCreated(await api.post("/me/api-keys", undefined, { key: false }));
    keys.reload();
  });
  const revoke = useAction(async (keyId) => {
    if (!confirm(`Revoke the key ${keyId}? Programs using it stop working at once.`)) return;
    await api.del(`/me/api-keys/${encodeURIComponent(keyId)}`, { key: false });
    keys.reload();
  });
  const switchTo = useAction(async (value) => {
    await useKey(value);
    setCreated(null);
  });
  return html`<section aria-labelledby="keys-title">
    <h1 id="keys-title">API keys</h1>
    <p>Send a key as the <code>x-api-key</code> header with your login token, or alone to <code>/v1</code> (OpenAI-compatible).</p>
    <button type="button" class="primary" onClick=${() => create.run()} disabled=${create.busy}>Create a key</button>
    <${ErrorNote} error=${create.error || revoke.error || switchTo.error} />
    ${created &&
    html`<${SecretOnce} label=${`New key ${created.key_id}`} value=${created.api_key}>
      <button type="button" onClick=${() => switchTo.run(created.api_key)}>Use it in the console</button>
    </${SecretOnce}>`}
    <${Loading} state=${keys}>
      <div class="table-wrap">
        <table>
          <caption>Your keys</caption>
          <thead><tr><th scope="col">Key id</th><th scope="col">State</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            ${(keys.data?.api_keys || []).map(
              (key) => html`<tr>
                <td><code>${key.key_id}</code></td>
                <td>${key.state}</td>
                <td>${when(key.created_at)}</td>
                <td>${when(key.last_used_at)}</td>
                <td>${key.state === "active"
                  ? html`<button type="button" class="danger" aria-label=${`Revoke key ${key.key_id}`} onClick=${() => revoke.run(key.key_id)}>Revoke</button>`
                  : null}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
    </${Loading}>
    <p><button type="button" class="link" onClick=${() => forgetKey()}>Switch the console to another key</button></p>
  </section>`;
}
