// The console's shell: the session, the navigation and the page for the current #/route.
import { hasGroup, logout, onSessionChange, resume, snapshot } from "./api.js";
import { go, html, render, useEffect, useState } from "./ui.js";
import { KeyStep, LoginPage, SignUpPage } from "./pages/auth.js";
import { KeysPage } from "./pages/keys.js";
import { ChatPage } from "./pages/chat.js";
import { UsagePage } from "./pages/usage.js";
import { BotEditPage, BotsPage, StorePage } from "./pages/bots.js";
import { PublicationPage } from "./pages/publication.js";
import { AdminBotsPage, AdminDashboard, AdminUserPage } from "./pages/admin.js";

// Route -> page. Routes live in the fragment, so the page's own URL (any prefix) never changes.
const MEMBER_PAGES = [
  { path: "chat", title: "Chat", page: ChatPage },
  { path: "keys", title: "API keys", page: KeysPage },
  { path: "usage", title: "Usage", page: UsagePage },
  { path: "bots", title: "My bots", page: BotsPage, group: "CreatingBotAllowed" },
  { path: "store", title: "Bot store", page: StorePage },
  { path: "admin", title: "Admin", page: AdminDashboard, group: "Admin" },
];
const HIDDEN_PAGES = {
  "bots/new": BotEditPage,
  "bots/edit": BotEditPage,
  "bots/publication": PublicationPage,
  "admin/user": AdminUserPage,
  "admin/bots": AdminBotsPage,
};

export function parseRoute(hash) {
  const [path, search = ""] = hash.replace(/^#\/?/, "").split("?");
  const params = Object.fromEntries(new URLSearchParams(search));
  return { path: path || "chat", params };
}

function Nav({ session, route }) {
  const pages = MEMBER_PAGES.filter((p) => !p.group || hasGroup(p.group));
  return html`<header class="top">
    <a class="brand" href="#/chat">Bedrock Gateway</a>
    <nav aria-label="Main">
      <ul>
        ${pages.map(
          (p) => html`<li><a href=${`#/${p.path}`} aria-current=${route.path.split("/")[0] === p.path ? "page" : undefined}>${p.title}</a></li>`,
        )}
      </ul>
    </nav>
    <div class="who">
      <span class="muted" data-testid="signed-in-as">${session.email}</span>
      <button type="button" onClick=${() => logout().finally(() => go("login"))}>Log out</button>
    </div>
  </header>`;
}

function App() {
  const [session, setSession] = useState(snapshot());
  const [route, setRoute] = useState(parseRoute(location.hash));
  const [resuming, setResuming] = useState(true);
  useEffect(() => onSessionChange(setSession), []);
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", onHash);
    resume().finally(() => setResuming(false));
    return () => removeEventListener("hashchange", onHash);
  }, []);
  useEffect(() => {
    const page = MEMBER_PAGES.find((p) => p.path === route.path);
    document.title = `${page ? page.title : "Console"} — Bedrock Gateway`;
  }, [route.path]);

  if (resuming) return html`<p class="loading">Loading the console…</p>`;
  if (!session.signedIn) {
    const Page = route.path === "signup" ? SignUpPage : LoginPage;
    return html`<main class="narrow" id="main"><${Page} /></main>`;
  }
  if (!session.hasKey) return html`<main class="narrow" id="main"><${KeyStep} /></main>`;
  const member = MEMBER_PAGES.find((p) => p.path === route.path);
  const Page = (member && (!member.group || hasGroup(member.group)) && member.page) || HIDDEN_PAGES[route.path] || ChatPage;
  return html`<${Nav} session=${session} route=${route} />
    <main id="main"><${Page} params=${route.params} route=${route} /></main>`;
}

render(html`<${App} />`, document.getElementById("app"));
