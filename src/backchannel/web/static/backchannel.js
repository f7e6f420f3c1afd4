/**
 * backchannel.js — the browser SDK of Backchannel: live chat over the client protocol
 * (docs/protocol.md). An ES module with no dependencies and no build step.
 *
 * ```js
 * import { Client } from "/static/backchannel.js";
 *
 * const client = await Client.create(token, { tokenProvider: () => fetchToken() });
 * client.on("messageAdded", (message) => console.log(message.author, message.body));
 * const channel = await client.getChannelByUniqueName("general");
 * await channel.join();
 * await channel.sendMessage("hello");
 * ```
 *
 * It mirrors the Python SDK (`backchannel.client`) and the names of twilio-chat:
 *
 * - Connection states: `"connecting"`, `"connected"`, `"disconnected"`, `"denied"`, reported by
 *   `connectionStateChanged`. A dropped socket or a "reconnect" close (1001, 4000–4099) reconnects
 *   with exponential backoff and jitter; a "renew" close (4100–4199) asks `tokenProvider` for a new
 *   token, then reconnects; a "terminal" close (4200–4299) stops in `"denied"` and emits
 *   `connectionError`.
 * - Every `authenticate` carries `resume`: the last message index seen per channel, so messages
 *   sent while the client was away arrive once, in order, after a reconnect.
 * - `channel.sendMessage` carries an idempotency key: if the socket drops before the reply, it is
 *   sent again after reconnecting and the message is still stored once.
 * - `tokenAboutToExpire` makes the client fetch a token from `tokenProvider` and hand it over on
 *   the live connection (`updateToken`), retrying with backoff; the session is not interrupted.
 *
 * Events keep their wire names. Client callbacks get: a `Message` (message events), a `Member`
 * (member and typing events; typing ones carry `channelSid` and `identity` only), a `Channel`
 * (channel events), a `User` and the list of changed fields (`userUpdated`), the state string
 * (`connectionStateChanged`), the seconds left (`tokenAboutToExpire`), a `ChatError`
 * (`connectionError`), and `{expiresAt}` (`tokenExpired`). `channel.on(...)` gets the events of
 * that channel only.
 *
 * @module backchannel
 */

export const VERSION = "0.1.0";

/** The WebSocket endpoint's path, appended to the server's URL. */
export const ENDPOINT = "/client/v1/ws";

/** Connection states, as `client.connectionState` and `connectionStateChanged` give them. */
export const ConnectionState = Object.freeze({
  CONNECTING: "connecting",
  CONNECTED: "connected",
  DISCONNECTED: "disconnected",
  DENIED: "denied",
});

const ALLOWED = {
  disconnected: ["connecting"],
  connecting: ["connected", "disconnected", "denied"],
  connected: ["connecting", "disconnected", "denied"],
  // A new token (`updateToken`) may get a denied client going again.
  denied: ["connecting"],
};

const READY_TIMEOUT = 15000; // ms from sending `authenticate` to `ready`
const OPEN_TIMEOUT = 10000; // ms for the socket to open
const INITIAL_ATTEMPTS = 5; // reconnect-type failures tolerated before the first `ready`
const MAX_FRAME = 64 * 1024; // the server closes the session (4212) on a larger frame

const MESSAGE_EVENTS = new Set(["messageAdded", "messageUpdated", "messageRemoved"]);
const MEMBER_EVENTS = new Set(["memberJoined", "memberLeft", "memberUpdated"]);
const TYPING_EVENTS = new Set(["typingStarted", "typingEnded"]);
const CHANNEL_EVENTS = new Set([
  "channelAdded",
  "channelUpdated",
  "channelRemoved",
  "channelJoined",
  "channelLeft",
  "channelInvited",
]);
const STATUS_AFTER = {
  channelJoined: "joined",
  channelLeft: "notParticipating",
  channelInvited: "invited",
};

// -- errors --------------------------------------------------------------------------------------

/**
 * A request the server refused, or a session it closed: `code` is the Twilio error code
 * (e.g. 50107 not authorized, 20104 token expired), `status` its HTTP status.
 */
export class ChatError extends Error {
  /**
   * @param {string} message
   * @param {{code?: number, status?: number}} [details]
   */
  constructor(message, { code = 0, status = 0 } = {}) {
    super(message);
    this.name = "ChatError";
    /** @type {number} */
    this.code = code;
    /** @type {number} */
    this.status = status;
  }

  toJSON() {
    const { name, message, code, status, closeCode } = this;
    return closeCode === undefined
      ? { name, message, code, status }
      : { name, message, code, status, closeCode };
  }
}

/** The connection went away before the request was answered (or was never there). */
export class ConnectionLostError extends ChatError {
  /** @param {string} [message] */
  constructor(message = "the connection was lost") {
    super(message, { code: 0, status: 0 });
    this.name = "ConnectionLostError";
  }
}

/** The server closed the session with `closeCode`; `code` is the Twilio code of its reason. */
export class SessionClosedError extends ChatError {
  /**
   * @param {number} closeCode
   * @param {number} code
   * @param {string} message
   */
  constructor(closeCode, code, message) {
    super(message, { code, status: statusFor(code) });
    this.name = "SessionClosedError";
    /** @type {number} */
    this.closeCode = closeCode;
  }

  /**
   * Parse the JSON close reason (`{"code": 20104, "message": …}`) of `closeCode`.
   * @param {number} closeCode
   * @param {string} reason
   * @returns {SessionClosedError}
   */
  static fromClose(closeCode, reason) {
    let code = 0;
    let message = reason || `the server closed the session (${closeCode})`;
    let parsed = null;
    try {
      parsed = reason ? JSON.parse(reason) : null;
    } catch {
      parsed = null;
    }
    if (isObject(parsed)) {
      if (Number.isInteger(parsed.code)) code = parsed.code;
      if (typeof parsed.message === "string" && parsed.message) message = parsed.message;
    }
    return new SessionClosedError(closeCode, code, message);
  }
}

function statusFor(code) {
  if (code >= 20100 && code < 20200) return 401;
  if (code === 20404) return 404;
  if (code === 20429) return 429;
  return code ? 400 : 0;
}

class Unreachable extends Error {}

// -- small parts ---------------------------------------------------------------------------------

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function attributesOf(value) {
  return isObject(value) ? value : {};
}

/** An ISO 8601 time of the wire as a `Date`, or null. */
function parseTime(value) {
  if (typeof value !== "string" || !value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** 32 random hex digits (works outside secure contexts, unlike `crypto.randomUUID`). */
function randomKey() {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * What a close code asks the client to do.
 * @param {number} code
 * @returns {"normal"|"reconnect"|"renew"|"terminal"}
 */
export function closeKind(code) {
  if (code === 1000) return "normal";
  if (code >= 4100 && code <= 4199) return "renew";
  if (code >= 4200 && code <= 4299) return "terminal";
  return "reconnect"; // 1001, 4000–4099, and whatever else drops us: try again
}

/**
 * `http(s)://host[:port][/prefix]` → `ws(s)://host[:port][/prefix]/client/v1/ws`.
 * @param {string} url
 * @returns {string}
 */
export function websocketUrl(url) {
  const parsed = new URL(url, globalThis.location?.href);
  const scheme = { "http:": "ws:", "https:": "wss:", "ws:": "ws:", "wss:": "wss:" }[
    parsed.protocol
  ];
  if (!scheme || !parsed.host) throw new TypeError(`expected an http(s):// URL, got ${url}`);
  let path = parsed.pathname.replace(/\/+$/, "");
  if (!path.endsWith(ENDPOINT)) path += ENDPOINT;
  return `${scheme}//${parsed.host}${path}`;
}

/**
 * How long to wait before the next attempt: exponential, capped, jittered. Attempt `n` (from 0)
 * waits about `initial * factor ** n` seconds, at most `maximum`; `jitter` is the share of each
 * delay drawn at random, so that clients dropped together do not all come back at once.
 */
export class Backoff {
  /** @param {{initial?: number, maximum?: number, factor?: number, jitter?: number}} [options] */
  constructor({ initial = 0.5, maximum = 30, factor = 2, jitter = 0.5 } = {}) {
    this.initial = initial;
    this.maximum = maximum;
    this.factor = factor;
    this.jitter = jitter;
  }

  /**
   * @param {number} attempt
   * @returns {number} milliseconds
   */
  delay(attempt) {
    const base = Math.min(this.maximum, this.initial * this.factor ** Math.min(attempt, 64));
    return 1000 * (base * (1 - this.jitter) + Math.random() * base * this.jitter);
  }
}

/**
 * `on(event, callback)` / `off(event, callback)`. Callbacks run in registration order; one
 * that throws (or returns a promise that rejects) is logged and does not stop the others.
 */
class Emitter {
  constructor() {
    /** @type {Map<string, Function[]>} */
    this._callbacks = new Map();
  }

  /**
   * Call `callback` for every `event`.
   * @param {string} event
   * @param {Function} callback
   * @returns {() => void} a function that unsubscribes
   */
  on(event, callback) {
    if (typeof callback !== "function") throw new TypeError("callback must be a function");
    if (!this._callbacks.has(event)) this._callbacks.set(event, []);
    this._callbacks.get(event).push(callback);
    return () => this.off(event, callback);
  }

  /**
   * Call `callback` for the next `event` only.
   * @param {string} event
   * @param {Function} callback
   * @returns {() => void} a function that unsubscribes
   */
  once(event, callback) {
    const off = this.on(event, (...args) => {
      off();
      return callback(...args);
    });
    return off;
  }

  /**
   * Stop calling `callback` for `event` (no error when it was not registered).
   * @param {string} event
   * @param {Function} callback
   */
  off(event, callback) {
    const callbacks = this._callbacks.get(event);
    const at = callbacks ? callbacks.indexOf(callback) : -1;
    if (at >= 0) callbacks.splice(at, 1);
  }

  /** @ignore */
  _emit(event, ...args) {
    for (const callback of [...(this._callbacks.get(event) || [])]) {
      try {
        const result = callback(...args);
        if (result && typeof result.then === "function") {
          result.then(undefined, (error) => console.error(`backchannel: ${event} callback`, error));
        }
      } catch (error) {
        console.error(`backchannel: ${event} callback`, error);
      }
    }
  }
}

/** The last message index seen per channel: the `resume` argument of `authenticate`. */
class ResumePoints {
  constructor() {
    /** @type {Map<string, number>} */
    this._seen = new Map();
  }

  snapshot() {
    return Object.fromEntries(this._seen);
  }

  saw(channelSid, index) {
    if (typeof channelSid === "string" && Number.isInteger(index)) {
      if (index > (this._seen.has(channelSid) ? this._seen.get(channelSid) : -1)) {
        this._seen.set(channelSid, index);
      }
    }
  }

  /** A joined channel with no message seen yet: count what it holds now as seen. */
  baseline(channelSid, messagesCount) {
    if (!this._seen.has(channelSid) && Number.isInteger(messagesCount)) {
      this._seen.set(channelSid, messagesCount - 1);
    }
  }

  forget(channelSid) {
    this._seen.delete(channelSid);
  }
}

// -- the connection ------------------------------------------------------------------------------

/**
 * The SDK's one WebSocket: connect, authenticate, correlate replies, reconnect, renew tokens.
 * Every state change goes through `_transition`, which refuses a move the table does not allow.
 * @ignore
 */
class Connection {
  constructor(url, token, { emitter, onReady, onEvent, tokenProvider, backoff, WebSocket, pingInterval }) {
    this.url = websocketUrl(url);
    this.token = token;
    this.tokenProvider = tokenProvider || null;
    this.backoff = backoff instanceof Backoff ? backoff : new Backoff(backoff || {});
    this.state = ConnectionState.DISCONNECTED;
    /** The `ready` event's data, with `token_expires_at` kept current by `updateToken`. */
    this.ready = {};
    this.resume = new ResumePoints();
    this.clockOffset = 0; // seconds to add to Date.now()/1000 to get the server's time
    this._emitter = emitter;
    this._onReady = onReady;
    this._onEvent = onEvent;
    this._WebSocket = WebSocket || globalThis.WebSocket;
    this._pingInterval = pingInterval ?? 30000;
    this._ws = null;
    this._nextId = 1;
    /** @type {Map<number, {resolve: Function, reject: Function}>} */
    this._pending = new Map();
    this._waiters = [];
    this._run = null;
    this._started = null;
    this._shutDown = false;
    this._expiryReported = false;
    this._drop = null; // ends the current socket's session now: (code, reason) => void
    this._wake = null; // cuts the current backoff sleep short
    this._renewal = null; // the running renewal's token: a newer one (or none) stops it
    this._pinger = null;
    this._onOnline = () => this._wake && this._wake();
    globalThis.addEventListener?.("online", this._onOnline);
  }

  // -- state ----------------------------------------------------------------------------------

  _transition(state) {
    if (!ALLOWED[this.state].includes(state)) {
      throw new Error(`backchannel: cannot go from ${this.state} to ${state}`);
    }
    this.state = state;
    const waiters = this._waiters;
    this._waiters = [];
    for (const wake of waiters) wake();
    this._emitter._emit("connectionStateChanged", state);
  }

  /** Resolve once connected; reject with `ConnectionLostError` if the connection stops. */
  async waitConnected() {
    while (this.state !== ConnectionState.CONNECTED) {
      if (this.state === ConnectionState.DISCONNECTED || this.state === ConnectionState.DENIED) {
        throw new ConnectionLostError("not connected");
      }
      await new Promise((resolve) => this._waiters.push(resolve));
    }
  }

  // -- life -----------------------------------------------------------------------------------

  /** Connect and authenticate: resolve on `ready`, reject with a `ChatError` if refused. */
  start() {
    if (this._shutDown) return Promise.reject(new ConnectionLostError("the client was shut down"));
    if (this._run) {
      if (this.state === ConnectionState.DISCONNECTED || this.state === ConnectionState.DENIED) {
        return this._run.then(() => this.start()); // the last run is just returning
      }
      return Promise.reject(new Error("the connection is already running"));
    }
    const started = {};
    started.promise = new Promise((resolve, reject) => {
      started.resolve = resolve;
      started.reject = reject;
    });
    this._started = started;
    this._run = this._guardedRun().finally(() => {
      this._run = null;
    });
    return started.promise;
  }

  /** Close the socket (1000), stop reconnecting, fail what is in flight. */
  async shutdown() {
    this._shutDown = true;
    globalThis.removeEventListener?.("online", this._onOnline);
    if (this._wake) this._wake();
    if (this._drop) this._drop(1000, "");
    if (this._run) await this._run;
    this._stop(ConnectionState.DISCONNECTED, new ConnectionLostError("the client was shut down"));
  }

  _stop(state, error) {
    if (this.state !== ConnectionState.DISCONNECTED && this.state !== ConnectionState.DENIED) {
      this._transition(state);
    }
    this._ws = null;
    this._failPending();
    if (this._started) {
      this._started.reject(error);
      this._started = null;
    }
  }

  _failPending() {
    const pending = this._pending;
    this._pending = new Map();
    for (const { reject } of pending.values()) reject(new ConnectionLostError());
  }

  _leaveConnected() {
    if (this.state !== ConnectionState.CONNECTING) this._transition(ConnectionState.CONNECTING);
    this._ws = null;
    this._failPending();
  }

  async _guardedRun() {
    try {
      await this._loop();
    } catch (error) {
      // A bug must not leave create() or requests waiting forever.
      console.error("backchannel: the connection stopped on an unexpected error", error);
      this._stop(
        ConnectionState.DISCONNECTED,
        new ConnectionLostError(`internal error: ${error && error.message}`),
      );
    }
  }

  async _loop() {
    let attempt = 0;
    let everReady = false;
    while (!this._shutDown) {
      this._leaveConnected();
      let closed;
      try {
        closed = await this._session();
      } catch (error) {
        this._cancelRenewal();
        if (!(error instanceof Unreachable)) throw error;
        if (this._shutDown) return;
        if (!everReady) {
          this._stop(ConnectionState.DISCONNECTED, new ConnectionLostError(error.message));
          return;
        }
        console.info(`backchannel: reconnecting: ${error.message}`);
        await this._sleep(this.backoff.delay(attempt));
        attempt += 1;
        continue;
      }
      this._cancelRenewal();
      if (this._shutDown) return;
      const { code, reason, wasReady } = closed;
      everReady = everReady || wasReady;
      if (wasReady) attempt = 0;
      const kind = closeKind(code);
      const error = SessionClosedError.fromClose(code, reason);
      if (kind === "normal") {
        this._stop(ConnectionState.DISCONNECTED, error);
        return;
      }
      if (kind === "terminal") {
        this._stop(ConnectionState.DENIED, error);
        this._emitter._emit("connectionError", error);
        return;
      }
      if (kind === "renew" && !this.tokenProvider) {
        if (!this._expiryReported) {
          this._expiryReported = true;
          this._emitter._emit("tokenExpired", { expiresAt: this.tokenExpiresAt });
        }
        this._stop(ConnectionState.DISCONNECTED, error);
        return;
      }
      if (!everReady && attempt + 1 >= INITIAL_ATTEMPTS) {
        this._stop(ConnectionState.DISCONNECTED, error);
        return;
      }
      this._leaveConnected();
      console.info(`backchannel: session closed (${code}, ${kind}): ${error.message}`);
      if (kind === "renew") {
        // The last token was refused too: do not hammer the backend.
        if (attempt) await this._sleep(this.backoff.delay(attempt));
        const token = await this._fetchToken();
        if (token === null) return; // shut down meanwhile
        this.token = token;
      } else {
        await this._sleep(this.backoff.delay(attempt));
      }
      attempt += 1;
    }
  }

  /** Wait `ms`, or less if woken (shutdown, the browser coming back online). */
  _sleep(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self._wake === done) self._wake = null;
        resolve();
      }
      this._wake = done;
    });
  }

  /**
   * One socket, open to close. Resolves with its close code and reason, and whether it got
   * `ready`; rejects with `Unreachable` when the socket never opened.
   */
  _session() {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new this._WebSocket(this.url);
      } catch (error) {
        reject(new Unreachable(`cannot connect to ${this.url}: ${error.message}`));
        return;
      }
      let opened = false;
      let ready = false;
      let finished = false;
      let timer = setTimeout(() => finish(opened ? 4008 : 1006, ""), OPEN_TIMEOUT);

      const finish = (code, reason) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        this._stopPinger();
        ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
        if (this._drop === finish) this._drop = null;
        if (this._ws === ws) this._ws = null;
        if (ws.readyState === 0 || ws.readyState === 1) {
          try {
            ws.close(1000);
          } catch {
            // closing a socket that is going anyway
          }
        }
        if (!opened) reject(new Unreachable(`cannot connect to ${this.url}`));
        else resolve({ code, reason, wasReady: ready });
      };
      this._drop = finish;

      ws.onopen = () => {
        opened = true;
        this._ws = ws;
        clearTimeout(timer);
        timer = setTimeout(() => finish(4008, ""), READY_TIMEOUT);
        const auth = { token: this.token, resume: this.resume.snapshot() };
        ws.send(JSON.stringify({ cmd: "authenticate", args: auth }));
      };
      ws.onmessage = (message) => {
        const frame = decode(message.data);
        if (!ready) {
          if (frame.event !== "ready" || !isObject(frame.data)) {
            console.warn("backchannel: expected ready, got", frame);
            finish(1002, "expected ready");
            return;
          }
          clearTimeout(timer);
          ready = true;
          this._acceptReady(frame.data);
          this._transition(ConnectionState.CONNECTED);
          if (this._started) {
            this._started.resolve();
            this._started = null;
          }
          this._startPinger(ws);
          return;
        }
        try {
          this._dispatch(frame);
        } catch (error) {
          console.error("backchannel: could not handle the frame", frame, error);
        }
      };
      ws.onerror = () => {}; // a close event follows, with the code
      ws.onclose = (event) => finish(event.code, event.reason || "");
    });
  }

  _acceptReady(data) {
    this.ready = data;
    this._expiryReported = false;
    if (typeof data.server_time === "number") {
      this.clockOffset = data.server_time - Date.now() / 1000;
    }
    this._onReady(data);
  }

  /** Seconds since the epoch by the server's clock. */
  serverNow() {
    return Date.now() / 1000 + this.clockOffset;
  }

  get tokenExpiresAt() {
    const value = this.ready.token_expires_at;
    return typeof value === "number" ? value : null;
  }

  /** A `ping` every `pingInterval` ms: a dead socket the browser has not noticed is dropped. */
  _startPinger(ws) {
    this._stopPinger();
    if (!this._pingInterval) return;
    this._pinger = setInterval(async () => {
      if (this._ws !== ws) return;
      const sent = Date.now();
      let timer;
      const timeout = new Promise((resolve) => {
        timer = setTimeout(resolve, this._pingInterval, "timeout");
      });
      try {
        const result = await Promise.race([this.request("ping", {}), timeout]);
        clearTimeout(timer);
        if (result === "timeout") {
          if (this._ws === ws && this._drop) this._drop(1006, "no answer to ping");
        } else if (typeof result.server_time === "number") {
          this.clockOffset = result.server_time - (sent + Date.now()) / 2000;
        }
      } catch {
        // the connection went: the session's close handles it
      }
    }, this._pingInterval);
  }

  _stopPinger() {
    if (this._pinger !== null) clearInterval(this._pinger);
    this._pinger = null;
  }

  // -- frames ---------------------------------------------------------------------------------

  _dispatch(frame) {
    if ("event" in frame) {
      this._event(String(frame.event), frame.data);
      return;
    }
    const id = frame.id;
    const pending = Number.isInteger(id) ? this._pending.get(id) : undefined;
    if (!pending) return; // a reply nobody waits for
    this._pending.delete(id);
    if (frame.ok === true) {
      pending.resolve(frame.result || {});
    } else {
      const error = isObject(frame.error) ? frame.error : {};
      pending.reject(
        new ChatError(String(error.message || "request failed"), {
          code: Number(error.code) || 20001,
          status: Number(error.status) || 400,
        }),
      );
    }
  }

  _event(name, data) {
    if (name === "tokenAboutToExpire") {
      const seconds = isObject(data) && typeof data.expires_in === "number" ? data.expires_in : 0;
      this._emitter._emit(name, seconds);
      if (this.tokenProvider) {
        this._renewLive();
      }
      return;
    }
    if (name === "tokenExpired") {
      this._expiryReported = true;
      const expiresAt = isObject(data) ? data.expires_at : this.tokenExpiresAt;
      this._emitter._emit(name, { expiresAt: expiresAt ?? null });
      return;
    }
    if (name === "messageAdded" && isObject(data)) this.resume.saw(data.channel_sid, data.index);
    try {
      this._onEvent(name, data);
    } catch (error) {
      console.error(`backchannel: could not handle the ${name} event`, data, error);
    }
  }

  // -- requests -------------------------------------------------------------------------------

  /**
   * Send `cmd` and resolve with its result; reject with a `ChatError` for an error reply.
   * `retry`: if the connection drops first, wait for the next session and send again (only for
   * idempotent requests).
   */
  async request(cmd, args = {}, { retry = false } = {}) {
    const text = JSON.stringify({ id: 0, cmd, args });
    if (new TextEncoder().encode(text).length > MAX_FRAME - 32) {
      throw new ChatError(`the ${cmd} request is larger than 64 KiB`, { code: 20001, status: 400 });
    }
    for (;;) {
      if (retry) await this.waitConnected();
      const ws = this._ws;
      if (this.state !== ConnectionState.CONNECTED || !ws) {
        throw new ConnectionLostError("not connected");
      }
      const id = this._nextId++;
      const reply = new Promise((resolve, reject) => this._pending.set(id, { resolve, reject }));
      try {
        ws.send(JSON.stringify({ id, cmd, args }));
        return await reply;
      } catch (error) {
        if (error instanceof ConnectionLostError && retry && !this._shutDown) continue;
        throw error;
      } finally {
        this._pending.delete(id);
      }
    }
  }

  /** Hand the session a new token; when stopped, reconnect with it. */
  async updateToken(token) {
    if (typeof token !== "string" || !token) throw new TypeError("updateToken needs a token");
    if (this.state === ConnectionState.CONNECTED) {
      const result = await this.request("updateToken", { token });
      this.token = token;
      this.ready.token_expires_at = result.token_expires_at;
      this._expiryReported = false;
    } else if (this.state === ConnectionState.CONNECTING) {
      this.token = token; // the next attempt authenticates with it
    } else {
      this.token = token;
      await this.start();
    }
  }

  // -- tokens ---------------------------------------------------------------------------------

  async _callProvider() {
    const token = await this.tokenProvider();
    if (typeof token !== "string" || !token) {
      throw new TypeError(`tokenProvider returned ${typeof token}, not a token`);
    }
    return token;
  }

  /** A token from the provider, retrying with backoff while it fails; null after shutdown. */
  async _fetchToken() {
    for (let attempt = 0; !this._shutDown; attempt += 1) {
      try {
        return await this._callProvider();
      } catch (error) {
        console.warn("backchannel: tokenProvider failed; retrying", error);
      }
      await this._sleep(this.backoff.delay(attempt));
    }
    return null;
  }

  /** On `tokenAboutToExpire`: fetch a token and `updateToken`, with backoff until it works. */
  async _renewLive() {
    const me = {};
    this._renewal = me;
    for (let attempt = 0; this.state === ConnectionState.CONNECTED; attempt += 1) {
      if (this._renewal !== me) return; // superseded or cancelled
      try {
        const token = await this._callProvider();
        if (this._renewal !== me) return;
        await this.updateToken(token);
        return;
      } catch (error) {
        if (error instanceof ConnectionLostError) return; // the reconnect path takes over
        console.warn("backchannel: token renewal failed; retrying", error);
      }
      await new Promise((resolve) => setTimeout(resolve, this.backoff.delay(attempt)));
    }
  }

  _cancelRenewal() {
    this._renewal = null;
  }
}

function decode(raw) {
  if (typeof raw !== "string") return {};
  try {
    const frame = JSON.parse(raw);
    if (isObject(frame)) return frame;
  } catch {
    // fall through
  }
  console.warn("backchannel: ignoring a frame that is not a JSON object", raw);
  return {};
}

// -- objects -------------------------------------------------------------------------------------

/**
 * One page of results: `items`, `hasNextPage`, and `nextPage()` for the one after.
 * @template T
 */
export class Paginator {
  /**
   * @param {T[]} items
   * @param {boolean} hasNextPage
   * @param {(() => Promise<Paginator<T>>) | null} fetchNext
   */
  constructor(items, hasNextPage, fetchNext) {
    /** @type {T[]} */
    this.items = items;
    /** @type {boolean} */
    this.hasNextPage = hasNextPage;
    /** twilio-chat's paginators have both; this one pages in one direction. */
    this.hasPrevPage = false;
    this._fetchNext = fetchNext;
  }

  /**
   * The next page; rejects on the last one.
   * @returns {Promise<Paginator<T>>}
   */
  async nextPage() {
    if (!this.hasNextPage || !this._fetchNext) throw new RangeError("this is the last page");
    return this._fetchNext();
  }

  /** @returns {Promise<Paginator<T>>} */
  async prevPage() {
    throw new RangeError("this paginator has no previous page");
  }

  [Symbol.iterator]() {
    return this.items[Symbol.iterator]();
  }
}

/** A chat message. Events hand out a fresh `Message` each time. */
export class Message {
  /** @ignore */
  constructor(data, client) {
    this._client = client;
    /** @type {string} */
    this.sid = data.sid;
    /** @type {number} */
    this.index = data.index;
    /** @type {string} */
    this.channelSid = data.channel_sid;
    this._apply(data);
  }

  _apply(data) {
    /** @type {string|null} */
    this.author = data.author ?? null;
    /** @type {string|null} */
    this.body = data.body ?? null;
    /** @type {object} */
    this.attributes = attributesOf(data.attributes);
    /** @type {Date|null} */
    this.dateCreated = parseTime(data.date_created);
    /** @type {Date|null} */
    this.dateUpdated = parseTime(data.date_updated);
    /** @type {boolean} */
    this.wasEdited = Boolean(data.was_edited);
    /** @type {string|null} */
    this.lastUpdatedBy = data.last_updated_by ?? null;
  }

  /** The `Channel` the message is in, when the client knows it. */
  get channel() {
    return this._client._channels.get(this.channelSid);
  }

  async _update(args) {
    const result = await this._client._request("updateMessage", {
      channel: this.channelSid,
      index: this.index,
      ...args,
    });
    this._apply(result.message);
    return this;
  }

  /**
   * Change the body (editOwnMessage / editAnyMessage).
   * @param {string} body
   * @returns {Promise<Message>}
   */
  updateBody(body) {
    return this._update({ body });
  }

  /**
   * Replace the attributes (editOwnMessageAttributes / editAnyMessageAttributes).
   * @param {object} attributes
   * @returns {Promise<Message>}
   */
  updateAttributes(attributes) {
    return this._update({ attributes });
  }

  /**
   * Delete the message (deleteOwnMessage / deleteAnyMessage).
   * @returns {Promise<void>}
   */
  async remove() {
    await this._client._request("removeMessage", { channel: this.channelSid, index: this.index });
  }

  toJSON() {
    const { _client, ...fields } = this;
    return fields;
  }
}

/** A channel member; typing events carry only `channelSid` and `identity`. */
export class Member {
  /** @ignore */
  constructor(data) {
    /** @type {string} */
    this.channelSid = data.channel_sid;
    /** @type {string} */
    this.identity = data.identity;
    /** @type {string|null} */
    this.sid = data.sid ?? null;
    /** @type {string|null} */
    this.roleSid = data.role_sid ?? null;
    /** @type {object} */
    this.attributes = attributesOf(data.attributes);
    /** @type {number|null} */
    this.lastConsumedMessageIndex = data.last_consumed_message_index ?? null;
    /** @type {Date|null} */
    this.lastConsumptionTimestamp = parseTime(data.last_consumption_timestamp);
    /** @type {Date|null} */
    this.dateCreated = parseTime(data.date_created);
    /** @type {Date|null} */
    this.dateUpdated = parseTime(data.date_updated);
  }

  toJSON() {
    return { ...this };
  }
}

/** An invitation to a private channel. */
export class Invite {
  /** @ignore */
  constructor(data) {
    /** @type {string} */
    this.sid = data.sid;
    /** @type {string} */
    this.channelSid = data.channel_sid;
    /** @type {string} */
    this.identity = data.identity;
    /** @type {string|null} */
    this.createdBy = data.created_by ?? null;
    /** @type {Date|null} */
    this.dateCreated = parseTime(data.date_created);
  }
}

/**
 * A chat user. The signed-in user is `client.user`, kept current by `userUpdated`; it also emits
 * `updated` with `{user, updateReasons}`.
 */
export class User extends Emitter {
  /** @ignore */
  constructor(data, client) {
    super();
    this._client = client;
    /** @type {string} */
    this.identity = data.identity;
    this._apply(data);
  }

  _apply(data) {
    /** @type {string} */
    this.sid = data.sid ?? this.sid ?? "";
    /** @type {string|null} */
    this.friendlyName = data.friendly_name ?? null;
    /** @type {object} */
    this.attributes = attributesOf(data.attributes);
    /** @type {string|null} */
    this.roleSid = data.role_sid ?? null;
    /** @type {boolean|null} null unless the service enables reachability */
    this.isOnline = data.is_online ?? null;
    /** @type {boolean|null} */
    this.isNotifiable = data.is_notifiable ?? null;
  }

  async _update(args) {
    const result = await this._client._request("updateUser", args);
    this._apply(result.user);
    return this;
  }

  /**
   * Set the signed-in user's friendly name (editOwnUserInfo).
   * @param {string|null} friendlyName
   * @returns {Promise<User>}
   */
  updateFriendlyName(friendlyName) {
    return this._update({ friendly_name: friendlyName });
  }

  /**
   * Replace the signed-in user's attributes (editOwnUserInfo).
   * @param {object} attributes
   * @returns {Promise<User>}
   */
  updateAttributes(attributes) {
    return this._update({ attributes });
  }

  toJSON() {
    const { _client, _callbacks, ...fields } = this;
    return fields;
  }
}

/**
 * One chat channel as the signed-in user sees it. The client keeps one `Channel` per SID: every
 * fetch and every channel event updates that same object, so a reference stays current.
 * `channel.on(event, cb)` gets this channel's events only (messages, members, typing, its own
 * channel events).
 */
export class Channel extends Emitter {
  /** @ignore */
  constructor(sid, client) {
    super();
    this._client = client;
    /** @type {string} */
    this.sid = sid;
    /** @type {string|null} */
    this.uniqueName = null;
    /** @type {string|null} */
    this.friendlyName = null;
    /** @type {"public"|"private"} */
    this.type = "public";
    /** @type {object} */
    this.attributes = {};
    /** @type {string|null} */
    this.createdBy = null;
    /** @type {number} */
    this.membersCount = 0;
    /** @type {number} */
    this.messagesCount = 0;
    /** @type {Date|null} */
    this.dateCreated = null;
    /** @type {Date|null} */
    this.dateUpdated = null;
    /** @type {"joined"|"invited"|"notParticipating"} */
    this.status = "notParticipating";
    /** @type {number|null} */
    this.lastConsumedMessageIndex = null;
    this._typingSent = 0;
  }

  /** Take the server's view; per-caller fields only when the frame carries them. */
  _apply(data) {
    this.uniqueName = data.unique_name ?? null;
    this.friendlyName = data.friendly_name ?? null;
    this.type = data.type || this.type;
    this.attributes = attributesOf(data.attributes);
    this.createdBy = data.created_by ?? null;
    this.membersCount = data.members_count || 0;
    this.messagesCount = data.messages_count || 0;
    this.dateCreated = parseTime(data.date_created);
    this.dateUpdated = parseTime(data.date_updated);
    if (data.status) this.status = data.status;
    if (data.last_consumed_message_index != null) {
      this.lastConsumedMessageIndex = data.last_consumed_message_index;
    }
  }

  /** @type {boolean} */
  get isPrivate() {
    return this.type === "private";
  }

  _request(cmd, args = {}) {
    return this._client._request(cmd, { channel: this.sid, ...args });
  }

  /** twilio-chat's descriptors resolve to their channel; a `Channel` is its own. */
  async getChannel() {
    return this;
  }

  // -- membership -----------------------------------------------------------------------------

  /**
   * Join (joinChannel); a no-op when already joined.
   * @returns {Promise<Channel>}
   */
  async join() {
    if (this.status === "joined") return this;
    const result = await this._request("joinChannel");
    this._client._adoptChannel(result.channel);
    this.status = "joined";
    this._client._connection.resume.baseline(this.sid, this.messagesCount);
    return this;
  }

  /**
   * Leave (leaveChannel).
   * @returns {Promise<Channel>}
   */
  async leave() {
    await this._request("leaveChannel");
    this._left();
    return this;
  }

  /**
   * Decline an invitation to this channel.
   * @returns {Promise<Channel>}
   */
  async declineInvitation() {
    await this._request("declineInvitation");
    this._left();
    return this;
  }

  _left() {
    this.status = "notParticipating";
    this._client._connection.resume.forget(this.sid);
  }

  /**
   * Add `identity` as a member (addMember).
   * @param {string} identity
   * @returns {Promise<Member>}
   */
  async add(identity) {
    const result = await this._request("addMember", { identity });
    return new Member(result.member);
  }

  /**
   * Invite `identity` (inviteMember); they get `channelInvited`.
   * @param {string} identity
   * @returns {Promise<Invite>}
   */
  async invite(identity) {
    const result = await this._request("inviteMember", { identity });
    return new Invite(result.invite);
  }

  /**
   * Remove a member (removeMember).
   * @param {string|Member} member an identity or a `Member`
   * @returns {Promise<void>}
   */
  async removeMember(member) {
    const identity = typeof member === "string" ? member : member.identity;
    await this._request("removeMember", { identity });
  }

  /**
   * The channel's members, in the order they joined (getMembers, a page of 100 at a time; the
   * user must be one of them).
   * @returns {Promise<Member[]>}
   */
  async getMembers() {
    const members = [];
    let token = null;
    do {
      const args = { page_size: 100 };
      if (token) args.page_token = token;
      const result = await this._request("getMembers", args);
      for (const data of result.items) members.push(new Member(data));
      token = result.next_page_token;
    } while (token);
    return members;
  }

  // -- the channel itself ---------------------------------------------------------------------

  /**
   * Change the given fields only (editChannelName / editChannelAttributes).
   * @param {{friendlyName?: string|null, uniqueName?: string|null, attributes?: object}} changes
   * @returns {Promise<Channel>}
   */
  async update(changes) {
    const args = {};
    if ("friendlyName" in changes) args.friendly_name = changes.friendlyName;
    if ("uniqueName" in changes) args.unique_name = changes.uniqueName;
    if ("attributes" in changes) args.attributes = changes.attributes;
    const result = await this._request("updateChannel", args);
    this._client._adoptChannel(result.channel);
    return this;
  }

  /** @param {string|null} friendlyName */
  updateFriendlyName(friendlyName) {
    return this.update({ friendlyName });
  }

  /** @param {string|null} uniqueName */
  updateUniqueName(uniqueName) {
    return this.update({ uniqueName });
  }

  /** @param {object} attributes */
  updateAttributes(attributes) {
    return this.update({ attributes });
  }

  /**
   * Destroy the channel (destroyChannel).
   * @returns {Promise<void>}
   */
  async delete() {
    await this._request("destroyChannel");
    this._client._dropChannel(this.sid);
  }

  // -- messages -------------------------------------------------------------------------------

  /**
   * Send a message; resolves with its index once the server has committed it. If the connection
   * drops first, the same request (same idempotency key) is sent again after reconnecting, so the
   * message is stored once however many times it is sent.
   * @param {string} body
   * @param {object} [attributes]
   * @returns {Promise<number>}
   */
  async sendMessage(body, attributes) {
    const args = { channel: this.sid, body: String(body), key: randomKey() };
    if (attributes !== undefined) args.attributes = attributes;
    this._typingSent = 0; // the server ends typing on a message; the next keystroke starts it again
    const connection = this._client._connection;
    const result = await connection.request("sendMessage", args, { retry: true });
    connection.resume.saw(this.sid, result.index);
    return result.index;
  }

  /**
   * A page of messages in ascending index order; `nextPage()` continues in `direction`
   * (`"backwards"`: older, the default; `"forwards"`: newer).
   * @param {number} [pageSize] 1–100, 30 by default
   * @param {number} [anchor] the index to start at (default: the newest, or the oldest forwards)
   * @param {"backwards"|"forwards"} [direction]
   * @returns {Promise<Paginator<Message>>}
   */
  async getMessages(pageSize = 30, anchor = undefined, direction = "backwards") {
    const args = { page_size: pageSize, direction };
    if (anchor !== undefined && anchor !== null) args.anchor = anchor;
    const result = await this._request("getMessages", args);
    const client = this._client;
    const items = (result.items || []).map((data) => new Message(data, client));
    for (const message of items) client._connection.resume.saw(this.sid, message.index);
    const hasNext = Boolean(result.has_next_page) && items.length > 0;
    const fetchNext = () =>
      direction === "forwards"
        ? this.getMessages(pageSize, items[items.length - 1].index + 1, direction)
        : this.getMessages(pageSize, items[0].index - 1, direction);
    return new Paginator(items, hasNext, fetchNext);
  }

  /**
   * Tell the other members this user is typing (`typingStarted` for them). Call it on every
   * keystroke: it sends at most one request per half of the service's typing timeout.
   * @returns {Promise<void>}
   */
  async typing() {
    const timeout = Number(this._client.service.typing_indicator_timeout) || 5;
    const now = Date.now();
    if (now - this._typingSent < (timeout * 1000) / 2) return;
    this._typingSent = now;
    try {
      await this._request("typing");
    } catch (error) {
      this._typingSent = 0;
      throw error;
    }
  }

  /**
   * Move the read horizon to `index` (null: nothing read); resolves with the unread count.
   * @param {number|null} index
   * @returns {Promise<number|null>}
   */
  async updateLastConsumedMessageIndex(index) {
    const result = await this._request("updateLastConsumedMessageIndex", { index });
    this.lastConsumedMessageIndex = result.last_consumed_message_index ?? null;
    return result.unread_count ?? null;
  }

  /**
   * Mark every message read; resolves with the unread count (0).
   * @returns {Promise<number|null>}
   */
  async setAllMessagesConsumed() {
    const page = await this.getMessages(1);
    const last = page.items.length ? page.items[page.items.length - 1].index : null;
    return this.updateLastConsumedMessageIndex(last);
  }

  /**
   * Mark every message unread; resolves with the unread count.
   * @returns {Promise<number|null>}
   */
  setNoMessagesConsumed() {
    return this.updateLastConsumedMessageIndex(null);
  }

  toJSON() {
    const { _client, _callbacks, _typingSent, ...fields } = this;
    return fields;
  }
}

// -- the client ----------------------------------------------------------------------------------

/**
 * @typedef {object} ClientOptions
 * @property {string} [url] the server's base URL; the page's origin by default
 * @property {() => (string|Promise<string>)} [tokenProvider] fetches a fresh token from your
 *   backend: on `tokenAboutToExpire`, and after a "renew" close
 * @property {{initial?: number, maximum?: number, factor?: number, jitter?: number}|Backoff}
 *   [backoff] reconnect delays, in seconds
 * @property {number} [pingInterval] ms between liveness pings (0: none); 30000 by default
 * @property {typeof WebSocket} [WebSocket] the WebSocket class, for environments without one
 */

/**
 * One signed-in user's live connection to a Backchannel chat service. Build it with
 * `await Client.create(token, options)`; or `new Client(token, options)`, subscribe, then
 * `await client.initialize()` to see every event from the first `connectionStateChanged` on.
 */
export class Client extends Emitter {
  /**
   * @param {string} token an access token with a chat grant
   * @param {ClientOptions} [options]
   */
  constructor(token, options = {}) {
    super();
    const url = options.url || globalThis.location?.origin;
    if (!url) throw new TypeError("Client needs options.url outside a web page");
    /** @type {Map<string, Channel>} */
    this._channels = new Map();
    this._user = null;
    this._subscribedLoaded = false;
    this._loading = null;
    /** The service's settings from `ready` (friendly_name, typing_indicator_timeout, limits…). */
    this.service = {};
    this._connection = new Connection(url, token, {
      emitter: this,
      onReady: (data) => this._ready(data),
      onEvent: (name, data) => this._event(name, data),
      tokenProvider: options.tokenProvider,
      backoff: options.backoff,
      WebSocket: options.WebSocket,
      pingInterval: options.pingInterval,
    });
  }

  /**
   * Connect, authenticate and resolve once the server is ready. Rejects with a
   * `SessionClosedError` carrying the Twilio code when the server refuses the token, and a
   * `ConnectionLostError` when it cannot be reached.
   * @param {string} token
   * @param {ClientOptions} [options]
   * @returns {Promise<Client>}
   */
  static async create(token, options = {}) {
    const client = new Client(token, options);
    await client.initialize();
    return client;
  }

  /**
   * Connect (see `create`).
   * @returns {Promise<Client>}
   */
  async initialize() {
    await this._connection.start();
    return this;
  }

  /**
   * Close the connection; requests still in flight fail with `ConnectionLostError`.
   * @returns {Promise<void>}
   */
  async shutdown() {
    await this._connection.shutdown();
  }

  // -- who and how ----------------------------------------------------------------------------

  /** @type {User|null} the signed-in user (null before the first `ready`) */
  get user() {
    return this._user;
  }

  /** @type {"connecting"|"connected"|"disconnected"|"denied"} */
  get connectionState() {
    return this._connection.state;
  }

  /**
   * Seconds the current token has left, by the server's clock (from `ready.server_time` and the
   * token's expiry, not the browser's clock). Null before the first `ready`.
   * @returns {number|null}
   */
  tokenExpiresIn() {
    const expiresAt = this._connection.tokenExpiresAt;
    if (expiresAt === null) return null;
    return expiresAt - this._connection.serverNow();
  }

  /**
   * Swap in a new token: on the live session (`updateToken`), or to reconnect with.
   * @param {string} token
   * @returns {Promise<Client>}
   */
  async updateToken(token) {
    await this._connection.updateToken(token);
    return this;
  }

  _request(cmd, args) {
    return this._connection.request(cmd, args);
  }

  // -- channels -------------------------------------------------------------------------------

  /**
   * Create a channel; its creator joins it.
   * @param {{friendlyName?: string, uniqueName?: string, isPrivate?: boolean, attributes?: object}}
   *   [options]
   * @returns {Promise<Channel>}
   */
  async createChannel({ friendlyName, uniqueName, isPrivate = false, attributes } = {}) {
    const args = { type: isPrivate ? "private" : "public" };
    if (friendlyName != null) args.friendly_name = friendlyName;
    if (uniqueName != null) args.unique_name = uniqueName;
    if (attributes != null) args.attributes = attributes;
    const result = await this._request("createChannel", args);
    const channel = this._adoptChannel(result.channel);
    channel.status = "joined";
    this._connection.resume.baseline(channel.sid, channel.messagesCount);
    return channel;
  }

  /**
   * @param {string} sid
   * @returns {Promise<Channel>}
   */
  getChannelBySid(sid) {
    return this._getChannel(sid);
  }

  /**
   * @param {string} uniqueName
   * @returns {Promise<Channel>}
   */
  getChannelByUniqueName(uniqueName) {
    return this._getChannel(uniqueName);
  }

  async _getChannel(sidOrName) {
    const result = await this._request("getChannel", { channel: sidOrName });
    return this._adoptChannel(result.channel);
  }

  /**
   * The channels the user is in or invited to, a page at a time.
   * @param {number} [pageSize]
   * @returns {Promise<Paginator<Channel>>}
   */
  getSubscribedChannels(pageSize) {
    return this._channelPage("getSubscribedChannels", pageSize, null);
  }

  /**
   * Public channels, a page at a time.
   * @param {number} [pageSize]
   * @returns {Promise<Paginator<Channel>>}
   */
  getPublicChannels(pageSize) {
    return this._channelPage("getPublicChannels", pageSize, null);
  }

  /**
   * twilio-chat's name: public channels; each item's `getChannel()` resolves to itself.
   * @param {number} [pageSize]
   * @returns {Promise<Paginator<Channel>>}
   */
  getPublicChannelDescriptors(pageSize) {
    return this.getPublicChannels(pageSize);
  }

  /**
   * twilio-chat's name: the user's channels, as `getSubscribedChannels`.
   * @param {number} [pageSize]
   * @returns {Promise<Paginator<Channel>>}
   */
  getUserChannelDescriptors(pageSize) {
    return this.getSubscribedChannels(pageSize);
  }

  async _channelPage(cmd, pageSize, pageToken) {
    const args = {};
    if (pageSize != null) args.page_size = pageSize;
    if (pageToken != null) args.page_token = pageToken;
    const result = await this._request(cmd, args);
    const items = (result.items || []).map((data) => this._adoptChannel(data));
    const next = result.next_page_token ?? null;
    return new Paginator(items, Boolean(next), () => this._channelPage(cmd, pageSize, next));
  }

  /**
   * A user of the service by identity.
   * @param {string} identity
   * @returns {Promise<User>}
   */
  async getUser(identity) {
    const result = await this._request("getUser", { identity });
    if (this._user && result.user.identity === this._user.identity) {
      this._user._apply(result.user);
      return this._user;
    }
    return new User(result.user, this);
  }

  // -- what the connection tells us -----------------------------------------------------------

  _ready(data) {
    const user = isObject(data.user) ? data.user : { sid: "", identity: data.identity || "" };
    if (this._user === null) this._user = new User(user, this);
    else this._user._apply(user);
    this.service = isObject(data.service) ? data.service : {};
    if (!this._subscribedLoaded && this._loading === null) {
      this._loading = this._loadSubscribed().finally(() => {
        this._loading = null;
      });
    }
  }

  /** Learn the channels the user is in, so that a reconnect resumes each of them. */
  async _loadSubscribed() {
    await Promise.resolve(); // `ready` is handled before the state becomes "connected"
    try {
      let page = await this.getSubscribedChannels(100);
      while (page.hasNextPage) page = await page.nextPage();
      this._subscribedLoaded = true;
    } catch (error) {
      console.info("backchannel: could not load the subscribed channels yet", error);
    }
  }

  _adoptChannel(data) {
    let channel = this._channels.get(data.sid);
    if (!channel) {
      channel = new Channel(data.sid, this);
      this._channels.set(data.sid, channel);
    }
    channel._apply(data);
    if (channel.status === "joined") {
      this._connection.resume.baseline(channel.sid, channel.messagesCount);
    }
    return channel;
  }

  _dropChannel(sid) {
    this._connection.resume.forget(sid);
    const channel = this._channels.get(sid);
    this._channels.delete(sid);
    return channel;
  }

  _event(name, data) {
    if (!isObject(data)) data = {};
    let obj = data;
    let extra;
    let channel;
    if (MESSAGE_EVENTS.has(name)) {
      obj = new Message(data, this);
      channel = this._channels.get(obj.channelSid);
    } else if (MEMBER_EVENTS.has(name) || TYPING_EVENTS.has(name)) {
      obj = new Member(data);
      channel = this._channels.get(obj.channelSid);
    } else if (CHANNEL_EVENTS.has(name)) {
      obj = channel = this._channelEvent(name, data);
    } else if (name === "userUpdated") {
      obj = this._userUpdated(data);
      extra = Array.isArray(data.updated) ? data.updated : [];
      obj._emit("updated", { user: obj, updateReasons: extra });
    }
    this._emit(name, obj, extra);
    if (channel) channel._emit(name, obj, extra);
  }

  _channelEvent(name, data) {
    if (name === "channelRemoved") {
      const channel = this._dropChannel(data.sid) || new Channel(data.sid, this);
      channel._apply(data);
      channel.status = "notParticipating";
      return channel;
    }
    const channel = this._adoptChannel(data);
    if (name in STATUS_AFTER) channel.status = STATUS_AFTER[name];
    if (name === "channelLeft") this._connection.resume.forget(channel.sid);
    else if (name === "channelJoined") {
      this._connection.resume.baseline(channel.sid, channel.messagesCount);
    }
    return channel;
  }

  _userUpdated(data) {
    const wire = isObject(data.user) ? data.user : data;
    if (this._user && wire.identity === this._user.identity) {
      this._user._apply(wire);
      return this._user;
    }
    return new User(wire, this);
  }
}

export default Client;
