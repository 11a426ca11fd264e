// Bots: mine and shared with me, create and edit (documents, sharing), and the store.
import { api, hasGroup } from "../api.js";
import { ErrorNote, Field, Loading, go, html, useAction, useEffect, useLoad, useState } from "../ui.js";

const split = (text) =>
  text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);

const SCOPES = { private: "private", partial: "shared with some", all: "shared with everyone" };

function BotRow({ bot }) {
  return html`<li class="card bot" data-testid="bot">
    <h3>${bot.title} ${bot.essential && html`<span class="tag">essential</span>`} ${bot.published && html`<span class="tag">published</span>`}</h3>
    <p>${bot.description}</p>
    <p class="muted">${bot.model_id} · ${SCOPES[bot.shared_scope] || bot.shared_scope} · used ${bot.use_count} ${bot.use_count === 1 ? "time" : "times"}</p>
    <div class="actions">
      <a class="button" href=${`#/chat?bot=${encodeURIComponent(bot.bot_id)}`}>Chat</a>
      ${bot.is_owner && html`<a class="button" href=${`#/bots/edit?id=${encodeURIComponent(bot.bot_id)}`} aria-label=${`Edit ${bot.title}`}>Edit</a>`}
      ${bot.is_owner && hasGroup("PublishAllowed") && html`<a class="button" href=${`#/bots/publication?id=${encodeURIComponent(bot.bot_id)}`} aria-label=${`Publish ${bot.title}`}>Publication</a>`}
    </div>
  </li>`;
}

export function BotsPage() {
  const bots = useLoad(() => api.get("/bots", { query: { limit: 100 } }));
  return html`<section aria-labelledby="bots-title">
    <h1 id="bots-title">My bots</h1>
    <p><a class="button primary" href="#/bots/new">Create a bot</a></p>
    <${Loading} state=${bots}>
      <h2>Mine</h2>
      <ul class="cards">${(bots.data?.mine || []).map((bot) => html`<${BotRow} bot=${bot} />`)}</ul>
      ${bots.data && bots.data.mine.length === 0 && html`<p class="muted">You have no bots yet.</p>`}
      <h2>Shared with me</h2>
      <ul class="cards">${(bots.data?.shared_with_me || []).map((bot) => html`<${BotRow} bot=${bot} />`)}</ul>
      ${bots.data && bots.data.shared_with_me.length === 0 && html`<p class="muted">Nothing shared with you yet.</p>`}
    </${Loading}>
  </section>`;
}

const EMPTY = {
  title: "",
  description: "",
  instruction: "",
  model_id: "",
  shared_scope: "private",
  allowed_users: "",
  allowed_groups: "",
  max_tokens: "",
  temperature: "",
};

export function BotEditPage({ params }) {
  const botId = params.id || null;
  const models = useLoad(() => api.get("/bedrock"));
  const existing = useLoad(() => (botId ? api.get(`/bots/${encodeURIComponent(botId)}`) : Promise.resolve(null)), [botId]);
  const [form, setForm] = useState(EMPTY);
  const [documents, setDocuments] = useState(null); // null: unchanged; else [{name, text}]
  const [pasted, setPasted] = useState({ name: "", text: "" });
  useEffect(() => {
    const bot = existing.data;
    if (!bot) return setForm(EMPTY);
    const p = bot.inference_parameters || {};
    setForm({
      title: bot.title,
      description: bot.description,
      instruction: bot.instruction || "",
      model_id: bot.model_id,
      shared_scope: bot.shared_scope,
      allowed_users: (bot.allowed_users || []).map((u) => u.email || u.user_id).join(", "),
      allowed_groups: (bot.allowed_groups || []).join(", "),
      max_tokens: p.max_tokens ?? "",
      temperature: p.temperature ?? "",
    });
  }, [existing.data]);
  const set = (name) => (e) => setForm({ ...form, [name]: e.target.value });
  const readFiles = async (e) => {
    const files = [...e.target.files];
    const read = await Promise.all(files.map(async (file) => ({ name: file.name, text: await file.text() })));
    setDocuments([...(documents || []), ...read]);
  };
  const addPasted = () => {
    if (!pasted.name.trim() || !pasted.text.trim()) return;
    setDocuments([...(documents || []), { name: pasted.name.trim(), text: pasted.text }]);
    setPasted({ name: "", text: "" });
  };
  const save = useAction(async () => {
    const parameters = {};
    if (form.max_tokens !== "") parameters.max_tokens = Number(form.max_tokens);
    if (form.temperature !== "") parameters.temperature = Number(form.temperature);
    const body = {
      title: form.title,
      description: form.description,
      instruction: form.instruction,
      model_id: form.model_id || models.data?.models[0]?.model_id,
      inference_parameters: parameters,
      shared_scope: form.shared_scope,
      allowed_users: split(form.allowed_users),
      allowed_groups: split(form.allowed_groups),
    };
    if (documents !== null) body.knowledge = { documents };
    const bot = botId ? await api.patch(`/bots/${encodeURIComponent(botId)}`, body) : await api.post("/bots", body);
    go("bots/edit", { id: bot.bot_id, saved: "1" });
    existing.reload();
    setDocuments(null);
  });
  const remove = useAction(async () => {
    if (!confirm("Delete this bot?")) return;
    await api.del(`/bots/${encodeURIComponent(botId)}`);
    go("bots");
  });
  const stored = existing.data?.knowledge?.documents || [];
  return html`<section aria-labelledby="bot-title">
    <h1 id="bot-title">${botId ? `Edit ${existing.data?.title || "bot"}` : "Create a bot"}</h1>
    ${params.saved && html`<p class="ok" role="status">Saved.</p>`}
    <${Loading} state=${existing}><${Loading} state=${models}>
      <form class="bot-form" onSubmit=${(e) => {
        e.preventDefault();
        save.run();
      }}>
        <${Field} label="Title"><input name="title" required maxlength="100" value=${form.title} onInput=${set("title")} /></${Field}>
        <${Field} label="Description"><input name="description" maxlength="1000" value=${form.description} onInput=${set("description")} /></${Field}>
        <${Field} label="Instruction"><textarea name="instruction" rows="4" value=${form.instruction} onInput=${set("instruction")}></textarea></${Field}>
        <${Field} label="Model">
          <select name="model_id" value=${form.model_id} onChange=${set("model_id")}>
            ${(models.data?.models || []).map((m) => html`<option value=${m.model_id}>${m.provider} ${m.name}</option>`)}
          </select>
        </${Field}>
        <div class="row">
          <${Field} label="Max tokens"><input name="max_tokens" type="number" min="1" max="200000" value=${form.max_tokens} onInput=${set("max_tokens")} /></${Field}>
          <${Field} label="Temperature"><input name="temperature" type="number" min="0" max="1" step="0.05" value=${form.temperature} onInput=${set("temperature")} /></${Field}>
        </div>
        <fieldset>
          <legend>Knowledge</legend>
          <p class="muted">Documents the bot answers from (text files, at most 20; saving replaces them all).</p>
          <ul>
            ${(documents || stored).map((d) => html`<li>${d.name} <small class="muted">${d.size_bytes ? `${d.size_bytes} bytes` : `${d.text.length} characters`}</small></li>`)}
          </ul>
          <${Field} label="Upload documents"><input name="documents" type="file" multiple accept=".txt,.md,.csv,.json,.html,text/*" onChange=${readFiles} /></${Field}>
          <details>
            <summary>Or paste a document</summary>
            <${Field} label="Document name"><input value=${pasted.name} onInput=${(e) => setPasted({ ...pasted, name: e.target.value })} /></${Field}>
            <${Field} label="Document text"><textarea rows="4" value=${pasted.text} onInput=${(e) => setPasted({ ...pasted, text: e.target.value })}></textarea></${Field}>
            <button type="button" onClick=${addPasted}>Add the document</button>
          </details>
          ${documents !== null && html`<button type="button" class="link" onClick=${() => setDocuments([])}>Remove all documents</button>`}
        </fieldset>
        <fieldset>
          <legend>Sharing</legend>
          <${Field} label="Who may use it">
            <select name="shared_scope" value=${form.shared_scope} onChange=${set("shared_scope")}>
              <option value="private">Only me</option>
              <option value="partial">Some colleagues and groups</option>
              <option value="all">Everyone (in the store)</option>
            </select>
          </${Field}>
          ${form.shared_scope === "partial" &&
          html`<${Field} label="Colleagues (emails)"><input name="allowed_users" value=${form.allowed_users} onInput=${set("allowed_users")} /></${Field}>
            <${Field} label="Groups"><input name="allowed_groups" value=${form.allowed_groups} onInput=${set("allowed_groups")} /></${Field}>`}
        </fieldset>
        <${ErrorNote} error=${save.error || remove.error} />
        <div class="actions">
          <button type="submit" class="primary" disabled=${save.busy}>${botId ? "Save" : "Create"}</button>
          ${botId && html`<a class="button" href=${`#/chat?bot=${encodeURIComponent(botId)}`}>Chat with it</a>`}
          ${botId && html`<button type="button" class="danger" onClick=${() => remove.run()}>Delete</button>`}
        </div>
      </form>
    </${Loading}></${Loading}>
  </section>`;
}

export function StorePage() {
  const [query, setQuery] = useState("");
  const [search, setSearch] = useState("");
  const store = useLoad(() => api.get("/bots/store", { query: { query: search, limit: 50 } }), [search]);
  return html`<section aria-labelledby="store-title">
    <h1 id="store-title">Bot store</h1>
    <form role="search" onSubmit=${(e) => {
      e.preventDefault();
      setSearch(query);
    }}>
      <${Field} label="Search bots"><input type="search" value=${query} onInput=${(e) => setQuery(e.target.value)} /></${Field}>
      <button type="submit">Search</button>
    </form>
    <${Loading} state=${store}>
      <ul class="cards">${(store.data?.bots || []).map((bot) => html`<${BotRow} bot=${bot} />`)}</ul>
      ${store.data && store.data.bots.length === 0 && html`<p class="muted">No bot matches.</p>`}
    </${Loading}>
  </section>`;
}
