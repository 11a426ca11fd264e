// The one way the console talks to the API, and the session it holds.
//
// Tokens live in this module's memory; only the refresh token is kept in sessionStorage (this tab, until it
// closes) so that a reload does not sign the user out. The API key is held in memory only and is sent only as
// the x-api-key header. Nothing secret ever goes into a URL or to the console log.

// This file is served at <API root>/console/<version>/api.js: the API is two folders up, whatever the prefix.
export const API_ROOT = new URL("../../", import.meta.url);
const REFRESH_STORAGE = "gateway.console.refresh";
const EXPIRY_MARGIN_MS = 60_000;

const session = { idToken: null, expiresAt: 0, apiKey: null, claims: null, profile: null };
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export function onSessionChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function changed() {
  for (const listener of listeners) listener(snapshot());
}

export function snapshot() {
  return {
    signedIn: Boolean(session.idToken),
    hasKey: Boolean(session.apiKey),
    email: session.profile?.email || session.claims?.email || null,
    name: session.profile?.fullname || session.claims?.name || null,
    groups: session.profile?.effective_groups || [],
    profile: session.profile,
  };
}

function decodeClaims(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(payload))));
  } catch {
    return {};
  }
}

function keepTokens(tokens) {
  session.idToken = tokens.id_token;
  session.expiresAt = Date.now() + tokens.expires_in * 1000;
  session.claims = decodeClaims(tokens.id_token);
  if (tokens.refresh_token) sessionStorage.setItem(REFRESH_STORAGE, tokens.refresh_token);
}

// The gateway's own refusals carry only {"message"}: say what they mean for a person.
const GATEWAY_MESSAGES = {
  401: "Your session is no longer valid: log in again.",
  403: "The gateway refused this request: your API key is missing, revoked or not yours.",
  429: "Too many requests for your API key's usage plan: wait a moment and try again.",
};

async function send(method, path, { body, query, token = true, key = true } = {}) {
  const url = new URL(path.replace(/^\//, ""), API_ROOT);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) {
    await freshToken();
    if (!session.idToken) throw new ApiError(401, "signed_out", "You are signed out: log in again.");
    headers.authorization = `Bearer ${session.idToken}`;
  }
  if (key && session.apiKey) headers["x-api-key"] = session.apiKey;
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new ApiError(0, "network_error", "The API could not be reached: check the connection and try again.");
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data && data.error;
    if (error && error.message) throw new ApiError(response.status, error.code, error.message, error.details);
    const message = GATEWAY_MESSAGES[response.status] || (data && data.message) || `The API answered ${response.status}.`;
    throw new ApiError(response.status, `http_${response.status}`, message);
  }
  return data;
}

export const api = {
  get: (path, options) => send("GET", path, options),
  post: (path, body, options) => send("POST", path, { ...options, body }),
  put: (path, body, options) => send("PUT", path, { ...options, body }),
  patch: (path, body, options) => send("PATCH", path, { ...options, body }),
  del: (path, options) => send("DELETE", path, options),
};

async function freshToken() {
  if (session.idToken && Date.now() < session.expiresAt - EXPIRY_MARGIN_MS) return;
  const refreshToken = sessionStorage.getItem(REFRESH_STORAGE);
  if (!refreshToken) return;
  try {
    keepTokens(await send("POST", "/refresh", { body: { refresh_token: refreshToken }, token: false, key: false }));
  } catch (error) {
    sessionStorage.removeItem(REFRESH_STORAGE);
    session.idToken = null;
    changed();
    throw error;
  }
}

export async function register(email, password, fullname) {
  return api.post("/register", { email, password, fullname }, { token: false, key: false });
}

export async function resendCode(email) {
  return api.post("/register/resend", { email }, { token: false, key: false });
}

/** Confirms the sign-up; the answer's first API key becomes the console's key. */
export async function confirm(email, code) {
  const registration = await api.post("/register/confirm", { email, code }, { token: false, key: false });
  session.apiKey = registration.api_key;
  return registration;
}

export async function login(email, password) {
  keepTokens(await api.post("/login", { email, password }, { token: false, key: false }));
  await loadProfile();
  changed();
}

/** After a reload: a new ID token from the refresh token kept for this tab, if there is one. */
export async function resume() {
  if (!sessionStorage.getItem(REFRESH_STORAGE)) return false;
  try {
    await freshToken();
  } catch {
    return false;
  }
  changed();
  return Boolean(session.idToken);
}

export async function loadProfile() {
  if (!session.apiKey) return null;
  session.profile = await api.get("/me");
  changed();
  return session.profile;
}

export async function useKey(value) {
  session.apiKey = value.trim();
  try {
    await loadProfile();
  } catch (error) {
    session.apiKey = null;
    throw error;
  }
}

export function forgetKey() {
  session.apiKey = null;
  session.profile = null;
  changed();
}

export async function logout() {
  try {
    if (session.idToken && session.apiKey) await api.post("/logout");
  } finally {
    sessionStorage.removeItem(REFRESH_STORAGE);
    Object.assign(session, { idToken: null, expiresAt: 0, apiKey: null, claims: null, profile: null });
    changed();
  }
}

export const hasGroup = (name) => (session.profile?.effective_groups || []).includes(name);
