// The rendering library (Preact with htm templates) and the small pieces every page shares.
import { h, render } from "./vendor/preact.js";
import { useCallback, useEffect, useMemo, useRef, useState } from "./vendor/preact-hooks.js";
import htm from "./vendor/htm.js";
import { logout } from "./api.js";

export const html = htm.bind(h);
export { render, useCallback, useEffect, useMemo, useRef, useState };

/** Runs `load` when `deps` change; gives {data, error, loading, reload}. An error is the API's message. */
export function useLoad(load, deps = []) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

/** Wraps an async action: {run, busy, error, setError}. */
export function useAction(action) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = async (...args) => {
    setBusy(true);
    setError(null);
    try {
      return await action(...args);
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, setError };
}

/** The same refusal from requests made at once (a page's loads) is shown once: a note hides itself while an
 * earlier note on the page says the same. The first note saying it is never hidden, so hidden notes count too. */
function repeatsAnEarlierNote(node) {
  return [...document.querySelectorAll("p.error[data-error]")].some(
    (other) =>
      other !== node &&
      other.dataset.error === node.dataset.error &&
      other.compareDocumentPosition(node) & Node.DOCUMENT_POSITION_FOLLOWING,
  );
}

const NOTES_CHANGED = "error-notes-changed";
const announceNotesChanged = () => document.dispatchEvent(new Event(NOTES_CHANGED));

export function ErrorNote({ error }) {
  const box = useRef(null);
  const [repeat, setRepeat] = useState(false);
  const message = error ? error.message || String(error) : null;
  const said = error ? `${error.code || ""} ${message}` : null;
  // Every note decides again whenever a note appears, changes or goes: the earlier of two notes saying the same
  // may be the later to render (its load failed last), and the one it repeats may go first.
  useEffect(() => {
    const check = () => setRepeat(Boolean(box.current) && repeatsAnEarlierNote(box.current));
    document.addEventListener(NOTES_CHANGED, check);
    announceNotesChanged();
    return () => {
      document.removeEventListener(NOTES_CHANGED, check);
      setTimeout(announceNotesChanged); // once this note has left the page
    };
  }, [said]);
  if (!error) return null;
  const code = error.code ? html`<code>${error.code}</code> ` : null;
  // A session the API no longer accepts (signed out, disabled, expired): offer the way back in.
  const again =
    error.status === 401
      ? html` <button type="button" class="link" onClick=${() => logout().finally(() => go("login"))}>Log in again</button>`
      : null;
  return html`<p ref=${box} class="error" role="alert" data-error=${said} hidden=${repeat}>${code}${message}${again}</p>`;
}

export function Loading({ state, children }) {
  if (state.error) return html`<${ErrorNote} error=${state.error} />`;
  if (state.loading && !state.data) return html`<p class="muted" aria-live="polite">Loading…</p>`;
  return children;
}

export const usd = (value) =>
  value == null ? "—" : `$${Number(value).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: value < 1 ? 6 : 2 })}`;
export const count = (value) => (value == null ? "no limit" : Number(value).toLocaleString("en-US"));
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

export function duration(seconds) {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h`;
  const days = Math.round(seconds / 86400);
  return days === 1 ? "1 day" : `${days} days`;
}

export function CopyButton({ text, label = "Copy" }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone(true);
    } catch {
      setDone(false);
    }
  };
  return html`<button type="button" onClick=${copy} aria-label=${label}>${done ? "Copied" : label}</button>`;
}

/** A key's value shown this once, with a copy button. */
export function SecretOnce({ label, value, children }) {
  return html`<div class="secret" role="status">
    <p><strong data-testid="secret-label">${label}</strong> — shown this once; copy it now.</p>
    <p><code class="secret-value" data-testid="secret-value">${value}</code> <${CopyButton} text=${value} label="Copy the key" /></p>
    ${children}
  </div>`;
}

export function Field({ label, children, hint }) {
  return html`<label class="field"><span>${label}</span>${children}${hint ? html`<small class="muted">${hint}</small>` : null}</label>`;
}

/** Moves to another page of the console (the route is in the URL's fragment). */
export function go(path, params) {
  const search = params ? `?${new URLSearchParams(params)}` : "";
  location.hash = `#/${path}${search}`;
}
