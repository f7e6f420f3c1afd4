/**
 * app.js — the Backchannel chat web app (served at `/` by `backchannel serve`). An ES module with
 * no build step, on top of the browser SDK (`/static/backchannel.js`) and the token server
 * (`/auth`, docs/token-server.md):
 *
 * - Signing in: `GET /auth/me` says whether the browser already has a session (and gives its CSRF
 *   token); otherwise the page shows its sign-in form, which posts JSON to `/auth/login`. The
 *   session cookie is HttpOnly and scoped to `/auth`: this script never sees it.
 * - The chat token comes from `POST /auth/token` (session cookie + `X-CSRF-Token`), at start and
 *   whenever the SDK asks its `tokenProvider` (before the token expires): the live connection is
 *   kept, nothing reconnects.
 * - Channels (yours, with unread counts; the others, to join; a form to create one), the open
 *   channel's messages with "Load older messages", a typing indicator, who is online, and a status
 *   line with the connection state and the token's time left.
 * - "Log out" closes the live connection, then the session (`POST /auth/logout`).
 *
 * Everything the server sends is put in the page as text (`textContent`), never as HTML.
 */

import { Client } from "/static/backchannel.js";

const AUTH = "/auth";
const PAGE_SIZE = 30;
const MAX_CHANNEL_PAGES = 20;

const $ = (id) => document.getElementById(id);

const STATE_TEXT = {
  connecting: "Connecting…",
  connected: "Connected",
  disconnected: "Disconnected",
  denied: "Access denied",
};

// -- what the page knows -------------------------------------------------------------------------

/** The signed-in user: `{identity, csrf}`; null when signed out. */
let session = null;
/** The SDK client of this sign-in. */
let client = null;
/** The newest chat token (the members request sends it). */
let chatToken = null;
/** Bumped at every sign-out: callbacks of an older sign-in see it and do nothing. */
let generation = 0;
/** How many times the connection state changed in this sign-in (shown as `data-changes`). */
let stateChanges = 0;
let ticker = null;

/**
 * Joined channels by SID: `{channel, unread, lastIndex, typing: Map<identity, timer>,
 * members: Map<identity, {identity, friendlyName, isOnline}>|null, reachability, readTimer}`.
 */
const joined = new Map();
/** Channels the user may join (public, or invited to), by SID. */
const others = new Map();
/** SID of the open channel. */
let active = null;
/** The page of the open channel's history to continue from ("Load older messages"). */
let older = null;
/** Bumped whenever another channel opens: a slow load for the previous one is dropped. */
let openSeq = 0;

// -- small helpers -------------------------------------------------------------------------------

function channelName(channel) {
  return channel.friendlyName || channel.uniqueName || channel.sid;
}

function slug(name) {
  const text = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64);
  return text || undefined;
}

function formatLeft(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 120) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

function formatTime(date) {
  if (!date) return "";
  const today = new Date().toDateString() === date.toDateString();
  return (today ? timeFormat : dateTimeFormat).format(date);
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function hiddenText(text) {
  return element("span", "visually-hidden", text);
}

function announce(text) {
  const announcer = $("announcer");
  const line = element("p", "", text);
  announcer.append(line);
  while (announcer.childElementCount > 5) announcer.firstElementChild.remove();
}

function showChatError(text) {
  $("chat-error").textContent = text || "";
}

// -- the token server ----------------------------------------------------------------------------

async function authRequest(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (session && session.csrf) headers["X-CSRF-Token"] = session.csrf;
  return fetch(`${AUTH}${path}`, {
    credentials: "same-origin",
    cache: "no-store",
    ...options,
    headers,
  });
}

/** The session of this browser (`{identity, csrf}`), or null when not signed in. */
async function whoAmI() {
  const response = await fetch(`${AUTH}/me`, { credentials: "same-origin", cache: "no-store" });
  if (response.status === 401) return null;
  if (!response.ok) throw new Error(`GET ${AUTH}/me answered ${response.status}`);
  const body = await response.json();
  if (!body.csrf_token) return null;
  return { identity: body.identity, csrf: body.csrf_token };
}

/** A fresh chat token: the SDK's `tokenProvider`, and the first token. */
async function fetchToken() {
  const mine = generation;
  let response = await authRequest("/token", { method: "POST" });
  if (response.status === 403) {
    // The CSRF token may be stale (signed in again in another tab): ask for the current one.
    const current = await whoAmI();
    if (current && mine === generation) {
      session = current;
      response = await authRequest("/token", { method: "POST" });
    }
  }
  if (response.status === 401) {
    if (mine === generation) {
      endSession("Your sign-in has ended (it expired, or you signed out elsewhere).");
    }
    throw new Error("not signed in");
  }
  if (!response.ok) throw new Error(`POST ${AUTH}/token answered ${response.status}`);
  const body = await response.json();
  if (mine === generation) chatToken = body.token;
  return body.token;
}

// -- views ---------------------------------------------------------------------------------------

function showView(name) {
  $("loading").hidden = name !== "loading";
  $("login-view").hidden = name !== "login";
  $("chat-view").hidden = name !== "chat";
}

function showLogin(message = "") {
  showView("login");
  document.title = "Sign in · Backchannel";
  $("login-message").textContent = message;
  $("login-error").textContent = "";
  $("login-username").focus();
}

async function onLogin(event) {
  event.preventDefault();
  const username = $("login-username").value;
  const password = $("login-password").value;
  const error = $("login-error");
  $("login-message").textContent = "";
  if (!username || !password) {
    error.textContent = "Enter your username and your password.";
    (username ? $("login-password") : $("login-username")).focus();
    return;
  }
  const submit = $("login-submit");
  submit.disabled = true;
  error.textContent = "";
  try {
    const response = await fetch(`${AUTH}/login`, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      $("login-password").value = "";
      session = { identity: body.identity, csrf: body.csrf_token };
      startChat();
      return;
    }
    if (response.status === 401) {
      error.textContent = "Wrong username or password.";
    } else if (response.status === 429) {
      const wait = body.retry_after ?? response.headers.get("Retry-After");
      error.textContent = `Too many failed attempts. Try again in ${wait ?? "a few"} seconds.`;
    } else {
      error.textContent = body.message || `Signing in failed (${response.status}).`;
    }
    $("login-password").select();
    $("login-password").focus();
  } catch {
    error.textContent = "The server cannot be reached. Check your connection and try again.";
  } finally {
    submit.disabled = false;
  }
}

// -- signing in and out --------------------------------------------------------------------------

async function startChat() {
  const mine = generation;
  stateChanges = 0;
  showView("chat");
  document.title = "Backchannel";
  $("me-identity").textContent = session.identity;
  setStatus("connecting");
  renderConversation();
  let token;
  try {
    token = await fetchToken();
  } catch (error) {
    if (mine === generation) {
      setStatus("disconnected");
      showChatError(`No chat token: ${error.message}. Reload the page to try again.`);
    }
    return;
  }
  if (mine !== generation) return;
  const created = new Client(token, { tokenProvider: fetchToken });
  client = created;
  listen(created, mine);
  startTicker();
  try {
    await created.initialize();
  } catch (error) {
    if (mine === generation) {
      setStatus(created.connectionState);
      showChatError(
        `Cannot connect to the chat service: ${error.message}. Reload the page to try again.`,
      );
    }
    return;
  }
  if (mine !== generation) return;
  await loadChannels(mine);
}

/** Close the live connection and forget everything of this sign-in. */
async function stopChat() {
  generation += 1;
  const old = client;
  client = null;
  chatToken = null;
  if (ticker !== null) clearInterval(ticker);
  ticker = null;
  for (const entry of joined.values()) {
    clearTimeout(entry.readTimer);
    for (const timer of entry.typing.values()) clearTimeout(timer);
  }
  joined.clear();
  others.clear();
  active = null;
  older = null;
  openSeq += 1;
  for (const id of ["my-channels", "public-channels", "messages", "members", "announcer"]) {
    $(id).replaceChildren();
  }
  $("typing").textContent = "";
  $("status-token").textContent = "";
  showChatError("");
  closePanels();
  if (old) {
    try {
      await old.shutdown();
    } catch {
      // closing anyway
    }
  }
}

async function logout() {
  const ending = session;
  $("logout").disabled = true;
  await stopChat();
  session = null;
  let message = "You have signed out.";
  try {
    const response = await fetch(`${AUTH}/logout`, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: ending ? { "X-CSRF-Token": ending.csrf } : {},
    });
    if (!response.ok) {
      message = `Signed out of the chat, but the server answered ${response.status}.`;
    }
  } catch {
    message = "Signed out of the chat, but the server could not be reached to end the session.";
  } finally {
    $("logout").disabled = false;
  }
  showLogin(message);
}

/** The token server no longer knows this session (expired, or signed out elsewhere). */
function endSession(message) {
  session = null;
  stopChat();
  showLogin(message);
}

// -- the status line -----------------------------------------------------------------------------

function setStatus(state, detail = "") {
  const status = $("status");
  status.dataset.state = state;
  status.dataset.changes = String(stateChanges);
  $("status-state").textContent = (STATE_TEXT[state] || state) + (detail ? `: ${detail}` : "");
}

function tick() {
  const left = client ? client.tokenExpiresIn() : null;
  let text = "";
  if (left !== null) text = left > 0 ? `token expires in ${formatLeft(left)}` : "token expired";
  const node = $("status-token");
  if (node.textContent !== text) node.textContent = text;
}

function startTicker() {
  if (ticker !== null) clearInterval(ticker);
  ticker = setInterval(tick, 1000);
  tick();
}

// -- the SDK's events ----------------------------------------------------------------------------

function listen(c, mine) {
  const on = (name, handler) =>
    c.on(name, (...args) => {
      if (mine === generation && client === c) return handler(...args);
      return undefined;
    });
  on("connectionStateChanged", (state) => {
    stateChanges += 1;
    setStatus(state);
    tick();
    if (state === "connected" && stateChanges > 2) resync();
  });
  on("connectionError", (error) => setStatus(c.connectionState, error.message));
  on("tokenExpired", () => tick());
  on("messageAdded", onMessageAdded);
  on("messageUpdated", onMessageUpdated);
  on("messageRemoved", onMessageRemoved);
  on("typingStarted", (member) => onTyping(member, true));
  on("typingEnded", (member) => onTyping(member, false));
  on("memberJoined", onMembership);
  on("memberLeft", onMembership);
  on("channelAdded", onChannelAdded);
  on("channelInvited", onChannelAdded);
  on("channelJoined", onChannelJoined);
  on("channelLeft", (channel) => forgetChannel(channel, channel.type === "public"));
  on("channelRemoved", (channel) => forgetChannel(channel, false));
  on("channelUpdated", () => {
    renderChannelLists();
    renderConversationHeader();
  });
  on("userUpdated", onUserUpdated);
}

/** After a reconnect: presence may have changed while we were away. */
function resync() {
  const entry = joined.get(active);
  if (entry) loadMembers(entry);
}

function onMessageAdded(message) {
  const entry = joined.get(message.channelSid);
  if (!entry) return;
  entry.lastIndex = Math.max(entry.lastIndex ?? -1, message.index);
  stopTyping(entry, message.author);
  const mine = message.author === session.identity;
  if (message.channelSid === active) {
    const follow = mine || nearBottom();
    insertMessage(message);
    if (follow) scrollToBottom();
    if (!mine) announce(`${message.author}: ${message.body}`);
    if (document.visibilityState === "visible") markRead(entry);
    else if (!mine) entry.unread += 1;
  } else if (!mine) {
    entry.unread += 1;
  }
  renderChannelLists();
}

function onMessageUpdated(message) {
  if (message.channelSid !== active) return;
  const item = messageItem(message.index);
  if (item) item.replaceWith(messageElement(message));
}

function onMessageRemoved(message) {
  if (message.channelSid !== active) return;
  const item = messageItem(message.index);
  if (item) item.remove();
  updateEmptyState();
}

function onTyping(member, started) {
  const entry = joined.get(member.channelSid);
  if (!entry || member.identity === session.identity) return;
  if (started) {
    clearTimeout(entry.typing.get(member.identity));
    // typingEnded normally follows; this only covers a lost one.
    const timeout = (Number(client.service.typing_indicator_timeout) || 5) + 3;
    entry.typing.set(
      member.identity,
      setTimeout(() => stopTyping(entry, member.identity), timeout * 1000),
    );
    if (member.channelSid === active) renderTyping();
  } else {
    stopTyping(entry, member.identity);
  }
}

function stopTyping(entry, identity) {
  if (!entry.typing.has(identity)) return;
  clearTimeout(entry.typing.get(identity));
  entry.typing.delete(identity);
  if (entry.channel.sid === active) renderTyping();
}

function onMembership(member) {
  const entry = joined.get(member.channelSid);
  if (!entry) return;
  if (member.channelSid === active) loadMembers(entry);
  else entry.members = null;
}

function onChannelAdded(channel) {
  if (joined.has(channel.sid) || channel.status === "joined") return;
  others.set(channel.sid, channel);
  renderChannelLists();
}

async function onChannelJoined(channel) {
  if (joined.has(channel.sid)) return;
  const entry = addJoined(channel);
  await countUnread(entry);
  renderChannelLists();
}

function forgetChannel(channel, stillJoinable) {
  const entry = joined.get(channel.sid);
  if (entry) for (const timer of entry.typing.values()) clearTimeout(timer);
  joined.delete(channel.sid);
  if (stillJoinable) others.set(channel.sid, channel);
  else others.delete(channel.sid);
  if (active === channel.sid) {
    const next = sortedJoined()[0];
    if (next) openChannel(next.channel.sid);
    else {
      active = null;
      renderConversation();
    }
  }
  renderChannelLists();
}

function onUserUpdated(user, reasons) {
  if (!Array.isArray(reasons) || !reasons.includes("is_online")) return;
  for (const entry of joined.values()) {
    const member = entry.members && entry.members.get(user.identity);
    if (member) member.isOnline = user.isOnline;
  }
  const entry = joined.get(active);
  if (entry) {
    renderMembers(entry);
    renderConversationHeader();
  }
}

// -- channels ------------------------------------------------------------------------------------

async function allItems(page) {
  const items = [...page.items];
  for (let n = 1; page.hasNextPage && n < MAX_CHANNEL_PAGES; n += 1) {
    page = await page.nextPage();
    items.push(...page.items);
  }
  return items;
}

function addJoined(channel) {
  let entry = joined.get(channel.sid);
  if (!entry) {
    entry = {
      channel,
      unread: 0,
      lastIndex: null,
      typing: new Map(),
      members: null,
      reachability: Boolean(client.service.reachability_enabled),
      readTimer: null,
    };
    joined.set(channel.sid, entry);
  }
  others.delete(channel.sid);
  return entry;
}

/** Unread messages: those after the user's read horizon (`lastConsumedMessageIndex`). */
async function countUnread(entry) {
  const channel = entry.channel;
  if (!channel.messagesCount) return;
  try {
    const page = await channel.getMessages(1);
    const newest = page.items.length ? page.items[page.items.length - 1].index : null;
    entry.lastIndex = newest;
    const consumed = channel.lastConsumedMessageIndex;
    if (newest === null) entry.unread = 0;
    else if (consumed === null || consumed === undefined) entry.unread = channel.messagesCount;
    else entry.unread = Math.min(channel.messagesCount, Math.max(0, newest - consumed));
  } catch (error) {
    console.warn("could not count the unread messages of", channel.sid, error);
  }
}

async function loadChannels(mine) {
  let subscribed;
  let visible;
  try {
    subscribed = await allItems(await client.getSubscribedChannels(100));
    visible = await allItems(await client.getPublicChannels(100));
  } catch (error) {
    if (mine === generation) showChatError(`Could not load the channels: ${error.message}`);
    return;
  }
  if (mine !== generation) return;
  for (const channel of subscribed) {
    if (channel.status === "joined") addJoined(channel);
    else if (channel.status === "invited") others.set(channel.sid, channel);
  }
  for (const channel of visible) if (!joined.has(channel.sid)) others.set(channel.sid, channel);
  await Promise.all([...joined.values()].map(countUnread));
  if (mine !== generation) return;
  renderChannelLists();
  const wanted = channelFromHash() || sortedJoined()[0];
  if (wanted) await openChannel(wanted.channel.sid, { focus: true });
  else {
    renderConversation();
    $("create-name").focus();
  }
}

function channelFromHash() {
  const key = decodeURIComponent(location.hash.slice(1));
  if (!key) return null;
  for (const entry of joined.values()) {
    if (entry.channel.sid === key || entry.channel.uniqueName === key) return entry;
  }
  return null;
}

function sortedJoined() {
  return [...joined.values()].sort((a, b) =>
    channelName(a.channel).localeCompare(channelName(b.channel)),
  );
}

async function createChannel(event) {
  event.preventDefault();
  const input = $("create-name");
  const error = $("create-error");
  const name = input.value.trim();
  error.textContent = "";
  if (!name) {
    error.textContent = "Enter a name for the channel.";
    input.focus();
    return;
  }
  try {
    const channel = await client.createChannel({ friendlyName: name, uniqueName: slug(name) });
    addJoined(channel);
    input.value = "";
    renderChannelLists();
    await openChannel(channel.sid, { focus: true });
  } catch (failure) {
    error.textContent =
      failure.code === 50307
        ? `There is already a channel called “${name}”: join it from the list.`
        : `Could not create the channel: ${failure.message}`;
    input.focus();
  }
}

async function joinChannel(sid) {
  const channel = others.get(sid);
  if (!channel) return;
  try {
    await channel.join();
  } catch (failure) {
    showChatError(`Could not join ${channelName(channel)}: ${failure.message}`);
    return;
  }
  const entry = addJoined(channel);
  await countUnread(entry);
  renderChannelLists();
  await openChannel(sid, { focus: true });
}

async function leaveChannel() {
  const entry = joined.get(active);
  if (!entry) return;
  try {
    await entry.channel.leave();
  } catch (failure) {
    showChatError(`Could not leave ${channelName(entry.channel)}: ${failure.message}`);
    return;
  }
  forgetChannel(entry.channel, entry.channel.type === "public");
  const next = document.querySelector("#my-channels button") || $("create-name");
  next.focus();
}

// -- the open channel ----------------------------------------------------------------------------

async function openChannel(sid, { focus = false } = {}) {
  const entry = joined.get(sid);
  if (!entry) return;
  const seq = ++openSeq;
  active = sid;
  older = null;
  const key = entry.channel.uniqueName || sid;
  history.replaceState(null, "", `#${encodeURIComponent(key)}`);
  $("messages").replaceChildren();
  $("announcer").replaceChildren();
  showChatError("");
  closePanels();
  renderConversation();
  renderChannelLists();
  if (focus) $("composer-input").focus();
  let page;
  try {
    page = await entry.channel.getMessages(PAGE_SIZE);
  } catch (failure) {
    if (seq === openSeq) showChatError(`Could not load the messages: ${failure.message}`);
    return;
  }
  if (seq !== openSeq) return;
  for (const message of page.items) insertMessage(message);
  if (page.items.length) {
    const newest = page.items[page.items.length - 1].index;
    entry.lastIndex = Math.max(entry.lastIndex ?? -1, newest);
  }
  older = page.hasNextPage ? page : null;
  updateHistoryControls();
  scrollToBottom();
  markRead(entry);
  loadMembers(entry);
}

async function loadOlder() {
  if (!older) return;
  const seq = openSeq;
  const button = $("load-older");
  const scroller = $("scroller");
  button.disabled = true;
  button.textContent = "Loading…";
  const fromBottom = scroller.scrollHeight - scroller.scrollTop;
  try {
    const page = await older.nextPage();
    if (seq !== openSeq) return;
    for (const message of page.items) insertMessage(message);
    older = page.hasNextPage ? page : null;
    scroller.scrollTop = scroller.scrollHeight - fromBottom;
    announce(`${page.items.length} older messages loaded.`);
  } catch (failure) {
    if (seq === openSeq) showChatError(`Could not load older messages: ${failure.message}`);
  } finally {
    button.disabled = false;
    button.textContent = "Load older messages";
    if (seq === openSeq) {
      updateHistoryControls();
      if (!older) scroller.focus();
    }
  }
}

/** Move the read horizon to the newest message (a burst of messages makes one request). */
function markRead(entry) {
  entry.unread = 0;
  renderChannelLists();
  clearTimeout(entry.readTimer);
  entry.readTimer = setTimeout(async () => {
    const index = entry.lastIndex;
    const channel = entry.channel;
    if (index === null || !joined.has(channel.sid)) return;
    const consumed = channel.lastConsumedMessageIndex;
    if (consumed !== null && consumed >= index) return;
    try {
      await channel.updateLastConsumedMessageIndex(index);
    } catch (error) {
      console.warn("could not update the read horizon", error);
    }
  }, 300);
}

async function loadMembers(entry) {
  const sid = entry.channel.sid;
  try {
    const response = await fetch(`/app/channels/${encodeURIComponent(sid)}/members`, {
      headers: { "X-Twilio-Token": chatToken || "" },
      cache: "no-store",
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.message || `status ${response.status}`);
    entry.reachability = Boolean(body.reachability_enabled);
    entry.members = new Map(
      body.members.map((m) => [
        m.identity,
        { identity: m.identity, friendlyName: m.friendly_name, isOnline: m.is_online },
      ]),
    );
  } catch (error) {
    console.warn("could not load the members of", sid, error);
    entry.members = null;
  }
  if (sid === active) {
    renderMembers(entry);
    renderConversationHeader();
  }
}

// -- rendering -----------------------------------------------------------------------------------

function renderChannelLists() {
  const mine = $("my-channels");
  const focusedSid = document.activeElement?.closest?.("[data-sid]")?.dataset.sid;
  const items = sortedJoined().map((entry) => {
    const item = element("li");
    const button = element("button", "open-channel");
    button.type = "button";
    button.dataset.sid = entry.channel.sid;
    button.dataset.unread = String(entry.unread);
    if (entry.channel.sid === active) button.setAttribute("aria-current", "true");
    if (entry.unread) button.classList.add("unread");
    button.append(element("span", "name", `# ${channelName(entry.channel)}`));
    if (entry.unread) {
      const badge = element("span", "badge", String(entry.unread));
      badge.append(hiddenText(" unread"));
      button.append(" ", badge);
    }
    item.append(button);
    return item;
  });
  mine.replaceChildren(...items);
  $("my-channels-empty").hidden = items.length > 0;

  const list = $("public-channels");
  const rest = [...others.values()]
    .sort((a, b) => channelName(a).localeCompare(channelName(b)))
    .map((channel) => {
      const item = element("li");
      item.dataset.sid = channel.sid;
      const invited = channel.status === "invited";
      item.append(
        element("span", "other-name", `# ${channelName(channel)}${invited ? " (invited)" : ""}`),
      );
      const button = element("button", "join", invited ? "Accept" : "Join");
      button.type = "button";
      button.dataset.sid = channel.sid;
      button.append(hiddenText(` ${channelName(channel)}`));
      item.append(button);
      return item;
    });
  list.replaceChildren(...rest);
  $("public-channels-empty").hidden = rest.length > 0;

  if (focusedSid) {
    const again = document.querySelector(`#sidebar button[data-sid="${CSS.escape(focusedSid)}"]`);
    if (again) again.focus();
  }

  const total = [...joined.values()].reduce((sum, entry) => sum + entry.unread, 0);
  const badge = $("total-unread");
  badge.hidden = total === 0;
  badge.replaceChildren(String(total), hiddenText(" unread"));
  document.title = total ? `(${total}) Backchannel` : "Backchannel";
}

function renderConversationHeader() {
  const entry = joined.get(active);
  const info = $("channel-info");
  if (!entry) {
    $("channel-title").textContent = joined.size ? "No channel open" : "Welcome";
    info.textContent = joined.size
      ? "Pick a channel on the left."
      : "Join a channel or create one to start chatting.";
    return;
  }
  $("channel-title").textContent = `# ${channelName(entry.channel)}`;
  const parts = [];
  const count = entry.members ? entry.members.size : entry.channel.membersCount;
  parts.push(`${count} member${count === 1 ? "" : "s"}`);
  if (entry.members && entry.reachability) {
    const online = [...entry.members.values()].filter((m) => m.isOnline).length;
    parts.push(`${online} online`);
  }
  info.textContent = parts.join(" · ");
}

function renderConversation() {
  const entry = joined.get(active);
  renderConversationHeader();
  const open = Boolean(entry);
  $("composer-input").disabled = !open;
  $("send").disabled = !open;
  $("leave-channel").hidden = !open;
  $("toggle-members").hidden = !open;
  const label = open ? `Messages in ${channelName(entry.channel)}` : "Messages";
  $("scroller").setAttribute("aria-label", label);
  if (!open) {
    $("messages").replaceChildren();
    $("members").replaceChildren();
    $("presence-note").textContent = "";
    older = null;
  }
  renderTyping();
  updateHistoryControls();
}

function renderTyping() {
  const entry = joined.get(active);
  const names = entry ? [...entry.typing.keys()] : [];
  let text = "";
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = "Several people are typing…";
  const node = $("typing");
  if (node.textContent !== text) node.textContent = text;
}

function renderMembers(entry) {
  const list = $("members");
  const note = $("presence-note");
  if (!entry.members) {
    list.replaceChildren();
    note.textContent = "The members could not be loaded.";
    return;
  }
  note.textContent = entry.reachability ? "" : "This service does not share who is online.";
  const members = [...entry.members.values()].sort(
    (a, b) => Number(Boolean(b.isOnline)) - Number(Boolean(a.isOnline)) ||
      a.identity.localeCompare(b.identity),
  );
  list.replaceChildren(
    ...members.map((member) => {
      const item = element("li");
      item.dataset.identity = member.identity;
      if (entry.reachability) {
        item.dataset.online = String(Boolean(member.isOnline));
        item.append(element("span", `presence${member.isOnline ? " online" : ""}`));
        item.lastChild.setAttribute("aria-hidden", "true");
      }
      item.append(element("span", "member-name", member.friendlyName || member.identity));
      if (member.identity === session.identity) item.append(element("span", "you", "(you)"));
      if (entry.reachability) {
        item.append(element("span", "member-state", member.isOnline ? "online" : "offline"));
      }
      return item;
    }),
  );
}

function messageElement(message) {
  const item = element("li", "message");
  item.dataset.index = String(message.index);
  if (message.author === session.identity) item.classList.add("mine");
  const meta = element("p", "meta");
  meta.append(element("span", "author", message.author || "system"));
  const time = element("time", "", formatTime(message.dateCreated));
  if (message.dateCreated) {
    time.dateTime = message.dateCreated.toISOString();
    time.title = message.dateCreated.toLocaleString();
  }
  meta.append(time);
  if (message.wasEdited) meta.append(element("span", "edited", "(edited)"));
  item.append(meta, element("p", "body", message.body ?? ""));
  return item;
}

function messageItem(index) {
  return $("messages").querySelector(`li[data-index="${index}"]`);
}

/** Put a message in index order; one already shown is left alone. */
function insertMessage(message) {
  const list = $("messages");
  if (messageItem(message.index)) return;
  const node = messageElement(message);
  let after = list.lastElementChild;
  while (after && Number(after.dataset.index) > message.index) after = after.previousElementSibling;
  if (after) after.after(node);
  else list.prepend(node);
  updateEmptyState();
}

function updateEmptyState() {
  const empty = !$("messages").firstElementChild;
  $("no-messages").hidden = !(active && empty);
}

function updateHistoryControls() {
  const shown = Boolean($("messages").firstElementChild);
  $("load-older").hidden = !older;
  $("history-start").hidden = Boolean(older) || !shown;
  updateEmptyState();
}

function nearBottom() {
  const scroller = $("scroller");
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
}

function scrollToBottom() {
  const scroller = $("scroller");
  scroller.scrollTop = scroller.scrollHeight;
}

// -- the composer --------------------------------------------------------------------------------

function autosize() {
  const input = $("composer-input");
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight + 2, 160)}px`;
}

async function send(event) {
  event.preventDefault();
  const entry = joined.get(active);
  const input = $("composer-input");
  const body = input.value;
  if (!entry || !body.trim()) return;
  input.value = "";
  autosize();
  showChatError("");
  try {
    await entry.channel.sendMessage(body);
  } catch (failure) {
    if (!input.value) {
      input.value = body;
      autosize();
    }
    showChatError(`Your message was not sent: ${failure.message}`);
  }
}

function onComposerKey(event) {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
}

function onComposerInput() {
  autosize();
  const entry = joined.get(active);
  if (entry && $("composer-input").value) entry.channel.typing().catch(() => {});
}

// -- narrow screens: channels and members open over the conversation -----------------------------

/** The panels of a narrow screen and the buttons that open them. */
const PANELS = [
  ["toggle-channels", "sidebar"],
  ["toggle-members", "members-panel"],
];

function togglePanel(buttonId, panelId, open) {
  const button = $(buttonId);
  const panel = $(panelId);
  const show = open ?? !panel.classList.contains("open");
  panel.classList.toggle("open", show);
  button.setAttribute("aria-expanded", String(show));
  if (show) {
    const [otherButton, otherPanel] = PANELS.find(([, id]) => id !== panelId);
    togglePanel(otherButton, otherPanel, false);
    const first = panel.querySelector("button, input, [tabindex]");
    (first || panel).focus();
  }
}

function closePanels() {
  for (const [button, panel] of PANELS) {
    $(panel).classList.remove("open");
    $(button).setAttribute("aria-expanded", "false");
  }
}

function measureTopbar() {
  const height = document.querySelector(".topbar").offsetHeight;
  document.documentElement.style.setProperty("--topbar-height", `${height}px`);
}

// -- wiring --------------------------------------------------------------------------------------

function wire() {
  $("login-form").addEventListener("submit", onLogin);
  $("logout").addEventListener("click", logout);
  $("create-form").addEventListener("submit", createChannel);
  $("composer").addEventListener("submit", send);
  $("composer-input").addEventListener("keydown", onComposerKey);
  $("composer-input").addEventListener("input", onComposerInput);
  $("load-older").addEventListener("click", loadOlder);
  $("leave-channel").addEventListener("click", leaveChannel);
  $("my-channels").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-sid]");
    if (button) openChannel(button.dataset.sid, { focus: true });
  });
  $("public-channels").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-sid]");
    if (button) joinChannel(button.dataset.sid);
  });
  $("toggle-channels").addEventListener("click", () => togglePanel("toggle-channels", "sidebar"));
  $("toggle-members").addEventListener("click", () =>
    togglePanel("toggle-members", "members-panel"),
  );
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    for (const [button, panel] of PANELS) {
      if ($(panel).classList.contains("open")) {
        togglePanel(button, panel, false);
        $(button).focus();
      }
    }
  });
  // A tap outside an open panel (on the dimmed conversation) closes it.
  document.addEventListener("click", (event) => {
    for (const [button, panel] of PANELS) {
      const open = $(panel).classList.contains("open");
      if (open && !$(panel).contains(event.target) && !$(button).contains(event.target)) {
        togglePanel(button, panel, false);
      }
    }
  });
  document.addEventListener("visibilitychange", () => {
    const entry = joined.get(active);
    if (entry && document.visibilityState === "visible") markRead(entry);
  });
  window.addEventListener("hashchange", () => {
    const entry = channelFromHash();
    if (entry && entry.channel.sid !== active) openChannel(entry.channel.sid);
  });
  new ResizeObserver(measureTopbar).observe(document.querySelector(".topbar"));
}

async function boot() {
  wire();
  try {
    session = await whoAmI();
  } catch {
    session = null;
  }
  if (session) startChat();
  else showLogin();
}

boot();
