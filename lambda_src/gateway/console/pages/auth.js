// Sign up (with the emailed code), log in, and the API key step that follows a login.
import { confirm, login, logout, register, resendCode, useKey } from "../api.js";
import { api } from "../api.js";
import { ErrorNote, Field, SecretOnce, go, html, useAction, useState } from "../ui.js";

export function LoginPage() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const action = useAction(async () => {
    await login(email, password);
    go("chat");
  });
  const submit = (e) => {
    e.preventDefault();
    action.run();
  };
  return html`<section aria-labelledby="login-title">
    <h1 id="login-title">Log in</h1>
    <form onSubmit=${submit}>
      <${Field} label="Email"><input type="email" autocomplete="username" required value=${email} onInput=${(e) => setEmail(e.target.value)} /></${Field}>
      <${Field} label="Password"><input type="password" autocomplete="current-password" required value=${password} onInput=${(e) => setPassword(e.target.value)} /></${Field}>
      <${ErrorNote} error=${action.error} />
      <button type="submit" class="primary" disabled=${action.busy}>Log in</button>
    </form>
    <p>No account yet? <a href="#/signup">Sign up</a></p>
  </section>`;
}

// The pool's password rule, as the page was served with it (Terraform's password_policy).
function passwordRule() {
  return document.querySelector('meta[name="password-rule"]')?.content ?? "";
}

export function SignUpPage() {
  const [step, setStep] = useState("details");
  const [form, setForm] = useState({ email: "", password: "", fullname: "", code: "" });
  const [registration, setRegistration] = useState(null);
  const set = (name) => (e) => setForm({ ...form, [name]: e.target.value });
  const signUp = useAction(async () => {
    await register(form.email, form.password, form.fullname);
    setStep("code");
  });
  const confirmCode = useAction(async () => {
    setRegistration(await confirm(form.email, form.code.trim()));
    setStep("key");
  });
  const resend = useAction(() => resendCode(form.email));
  const enter = useAction(async () => {
    await login(form.email, form.password);
    go("chat");
  });
  const on = (action) => (e) => {
    e.preventDefault();
    action.run();
  };

  if (step === "key") {
    return html`<section aria-labelledby="signup-title">
      <h1 id="signup-title">Your account is ready</h1>
      <${SecretOnce} label="Your first API key" value=${registration.api_key}>
        <p class="muted">The console keeps it in memory for this visit. Programs send it as the <code>x-api-key</code> header.</p>
      </${SecretOnce}>
      <${ErrorNote} error=${enter.error} />
      <button type="button" class="primary" onClick=${() => enter.run()} disabled=${enter.busy}>Continue to the console</button>
    </section>`;
  }
  if (step === "code") {
    return html`<section aria-labelledby="signup-title">
      <h1 id="signup-title">Check your mailbox</h1>
      <p>We sent a code to <strong>${form.email}</strong>.</p>
      <form onSubmit=${on(confirmCode)}>
        <${Field} label="Code"><input name="code" inputmode="numeric" autocomplete="one-time-code" required value=${form.code} onInput=${set("code")} /></${Field}>
        <${ErrorNote} error=${confirmCode.error || resend.error} />
        <button type="submit" class="primary" disabled=${confirmCode.busy}>Confirm</button>
        <button type="button" onClick=${() => resend.run()} disabled=${resend.busy}>Send a new code</button>
      </form>
    </section>`;
  }
  return html`<section aria-labelledby="signup-title">
    <h1 id="signup-title">Sign up</h1>
    <form onSubmit=${on(signUp)}>
      <${Field} label="Full name"><input name="fullname" autocomplete="name" required value=${form.fullname} onInput=${set("fullname")} /></${Field}>
      <${Field} label="Work email"><input name="email" type="email" autocomplete="email" required value=${form.email} onInput=${set("email")} /></${Field}>
      <${Field} label="Password" hint=${passwordRule()}><input name="password" type="password" autocomplete="new-password" required value=${form.password} onInput=${set("password")} /></${Field}>
      <${ErrorNote} error=${signUp.error} />
      <button type="submit" class="primary" disabled=${signUp.busy}>Sign up</button>
    </form>
    <p>Already have an account? <a href="#/login">Log in</a></p>
  </section>`;
}

/** After a login the console needs an API key for most routes: paste one, or make a new one. */
export function KeyStep() {
  const [value, setValue] = useState("");
  const [created, setCreated] = useState(null);
  const paste = useAction(async () => {
    await useKey(value);
    go("chat");
  });
  const create = useAction(async () => {
    const key = await api.post("/me/api-keys", undefined, { key: false });
    setCreated(key.api_key);
  });
  const proceed = useAction(async () => {
    await useKey(created);
    go("keys");
  });
  if (created) {
    return html`<section aria-labelledby="key-title">
      <h1 id="key-title">A new API key</h1>
      <${SecretOnce} label="New API key" value=${created} />
      <${ErrorNote} error=${proceed.error} />
      <button type="button" class="primary" onClick=${() => proceed.run()}>Use it in the console</button>
    </section>`;
  }
  return html`<section aria-labelledby="key-title">
    <h1 id="key-title">Your API key</h1>
    <p>Most of the API needs one of your API keys as well as your login. The console keeps it in memory only.</p>
    <form onSubmit=${(e) => {
      e.preventDefault();
      paste.run();
    }}>
      <${Field} label="API key"><input type="password" autocomplete="off" required value=${value} onInput=${(e) => setValue(e.target.value)} /></${Field}>
      <${ErrorNote} error=${paste.error} />
      <button type="submit" class="primary" disabled=${paste.busy}>Use this key</button>
    </form>
    <p>Lost it? Make a new key (your other keys keep working until you revoke them).</p>
    <${ErrorNote} error=${create.error} />
    <button type="button" onClick=${() => create.run()} disabled=${create.busy}>Make a new key</button>
    <button type="button" class="link" onClick=${() => logout()}>Log out</button>
  </section>`;
}
