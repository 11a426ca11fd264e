// Chat with a model or a bot: the conversation list, its history, send, the reply with its tokens and cost.
import { api } from "../api.js";
import { ErrorNote, Field, Loading, go, html, useAction, useEffect, useLoad, useRef, useState, usd } from "../ui.js";

async function loadChoices() {
  const [models, bots, store] = await Promise.all([
    api.get("/bedrock"),
    api.get("/bots", { query: { limit: 100 } }),
    api.get("/bots/store", { query: { limit: 100 } }),
  ]);
  const seen = new Map();
  for (const bot of [...bots.mine, ...bots.shared_with_me, ...store.bots]) seen.set(bot.bot_id, bot);
  return { models: models.models, bots: [...seen.values()] };
}

function Message({ message, outcome }) {
  const mine = message.role === "user";
  return html`<li class=${`message ${mine ? "mine" : "reply"}`} data-testid=${mine ? "message" : "reply"}>
    <span class="sr-only">${mine ? "You" : "Assistant"}:</span>
    <div class="content">${message.content}</div>
    ${message.sources && message.sources.length > 0 &&
    html`<p class="sources" data-testid="sources">Sources: ${message.sources.map((s) => html`<span class="tag">${s}</span>`)}</p>`}
    ${outcome &&
    html`<p class="muted cost" data-testid="reply-cost">${outcome.usage.input_tokens} tokens in · ${outcome.usage.output_tokens} out · ${usd(outcome.cost_usd)}</p>`}
  </li>`;
}

function NewConversation({ choices, target, onChoose, onStart }) {
  return html`<div class="new-chat">
    <${Field} label="Chat with">
      <select value=${target || ""} onChange=${(e) => onChoose(e.target.value)} name="target">
        <optgroup label="Models">
          ${choices.models.map((m) => html`<option value=${`model:${m.model_id}`}>${m.provider} ${m.name} (${m.model_id})</option>`)}
        </optgroup>
        ${choices.bots.length > 0 &&
        html`<optgroup label="Bots">${choices.bots.map((b) => html`<option value=${`bot:${b.bot_id}`}>${b.title}</option>`)}</optgroup>`}
      </select>
    </${Field}>
    <button type="button" onClick=${onStart}>New conversation</button>
  </div>`;
}

export function ChatPage({ params }) {
  const choices = useLoad(loadChoices);
  const list = useLoad(() => api.get("/conversations", { query: { limit: 50 } }));
  const activeId = params.id || null;
  const [chosen, setChosen] = useState(null);
  // Conversations begun on this page: listed at once, whatever the listing's own timing.
  const [started, setStarted] = useState([]);
  const [messages, setMessages] = useState([]);
  const [outcomes, setOutcomes] = useState({});
  const [text, setText] = useState("");
  const history = useLoad(() => (activeId ? api.get(`/conversations/${encodeURIComponent(activeId)}`) : Promise.resolve(null)), [activeId]);
  const end = useRef(null);

  useEffect(() => setMessages(history.data ? history.data.messages : []), [history.data]);
  useEffect(() => end.current && end.current.scrollIntoView({ block: "end" }), [messages.length]);

  // What a new conversation talks to: the choice made, else the bot the page was opened for, else a model.
  const firstModel = choices.data?.models[0] ? `model:${choices.data.models[0].model_id}` : null;
  const target = chosen || (params.bot ? `bot:${params.bot}` : firstModel);
  const send = useAction(async () => {
    let conversationId = activeId;
    const content = text.trim();
    if (!content) return;
    if (!conversationId) {
      if (!target) throw new Error("Choose a model or a bot first.");
      const [kind, id] = [target.slice(0, target.indexOf(":")), target.slice(target.indexOf(":") + 1)];
      const created = await api.post("/conversations", kind === "bot" ? { bot_id: id, title: content.slice(0, 60) } : { model_id: id, title: content.slice(0, 60) });
      conversationId = created.conversation_id;
      setStarted((list) => [created, ...list]);
    }
    setMessages((m) => [...m, { message_id: "pending", role: "user", content }]);
    setText("");
    try {
      const answer = await api.post(`/conversations/${encodeURIComponent(conversationId)}/messages`, { content });
      setOutcomes((o) => ({ ...o, [answer.reply.message_id]: answer }));
      setMessages((m) => [...m.filter((x) => x.message_id !== "pending"), answer.message, answer.reply]);
    } catch (error) {
      setMessages((m) => m.filter((x) => x.message_id !== "pending"));
      setText(content);
      throw error;
    } finally {
      if (conversationId !== activeId) {
        list.reload();
        go("chat", { id: conversationId });
      }
    }
  });
  const remove = useAction(async (id) => {
    if (!confirm("Delete this conversation?")) return;
    await api.del(`/conversations/${encodeURIComponent(id)}`);
    list.reload();
    go("chat");
  });

  const conversation = history.data;
  const botTitle = (botId) => choices.data?.bots.find((b) => b.bot_id === botId)?.title || `bot ${botId}`;
  return html`<section class="chat" aria-labelledby="chat-title">
    <h1 id="chat-title" class="sr-only">Chat</h1>
    <aside class="conversations" aria-label="Conversations">
      <${Loading} state=${choices}>
        ${choices.data &&
        html`<${NewConversation} choices=${choices.data} target=${target} onChoose=${(t) => {
          setChosen(t);
          if (activeId) go("chat");
        }} onStart=${() => {
          setMessages([]);
          go("chat");
        }} />`}
      </${Loading}>
      <${Loading} state=${list}>
        <ul class="conversation-list">
          ${[...started, ...(list.data?.conversations || [])]
            .filter((c, i, all) => all.findIndex((o) => o.conversation_id === c.conversation_id) === i)
            .map(
            (c) => html`<li><a href=${`#/chat?id=${encodeURIComponent(c.conversation_id)}`} aria-current=${c.conversation_id === activeId ? "page" : undefined}>${c.title || "Untitled"}</a>
              <small class="muted">${c.bot_id ? `Bot: ${botTitle(c.bot_id)}` : c.model_id}</small></li>`,
          )}
        </ul>
      </${Loading}>
    </aside>
    <div class="thread">
      <header class="thread-head">
        <h2>${conversation ? conversation.title || "Conversation" : "New conversation"}</h2>
        <p class="muted">${conversation ? (conversation.bot_id ? `Bot: ${botTitle(conversation.bot_id)}` : conversation.model_id) : target ? target.replace(":", ": ") : ""}</p>
        ${conversation && html`<button type="button" class="danger" onClick=${() => remove.run(conversation.conversation_id)}>Delete</button>`}
      </header>
      <${ErrorNote} error=${history.error || remove.error} />
      <ol class="messages" aria-live="polite" aria-label="Conversation history">
        ${messages.map((m) => html`<${Message} message=${m} outcome=${outcomes[m.message_id]} />`)}
        <li ref=${end} class="end" aria-hidden="true"></li>
      </ol>
      ${send.busy && html`<p class="muted" role="status">Waiting for the reply…</p>`}
      <${ErrorNote} error=${send.error} />
      <form class="composer" onSubmit=${(e) => {
        e.preventDefault();
        send.run();
      }}>
        <label class="sr-only" for="composer-text">Message</label>
        <textarea id="composer-text" rows="3" required value=${text} onInput=${(e) => setText(e.target.value)}
          onKeyDown=${(e) => {
            if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              send.run();
            }
          }} placeholder="Ask something (Ctrl+Enter sends)"></textarea>
        <button type="submit" class="primary" disabled=${send.busy || (!activeId && !target)}>Send</button>
      </form>
    </div>
  </section>`;
}
