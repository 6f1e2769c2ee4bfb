/**
 * The demo chat page (bundled by scripts/build-demo.mjs into dist/cli/demo/public/app.js).
 * Uses wirecable's ActionCable consumer (src/client) against the demo's ChatChannel.
 *
 * What it promises (docs/demo.md):
 * - A message is shown at once as pending, and as sent when the server acknowledges it (or its
 *   broadcast comes back). It is an acknowledged perform: typed while disconnected it waits in
 *   the consumer and goes out once the subscription is confirmed again; handed to a socket that
 *   died unanswered it is sent again after the reconnection, and the server runs it once per id.
 *   No answer within 10 minutes: it is marked as not sent.
 * - A tab that was offline gets every message it missed, once and in order, when it is back
 *   (the consumer resumes the room's stream); if the server no longer has them it says so.
 * - Presence: the members once, then joins and leaves.
 * - Pending messages live in this page only: closing or reloading it loses them.
 * Every piece of user data is rendered with textContent: never parsed as HTML.
 */
import {
  AckError,
  createConsumer,
  type PresenceChange,
  type ResyncInfo,
  type Subscription,
} from "../../../client/index.js";

type Incoming =
  | { type: "message"; id: string; name: string; text: string; at: number }
  | { type: "typing"; name: string; member?: string; typing: boolean }
  | { type: "refused"; id: string | null; reason: string };

/** How long a message waits for its acknowledgement (the server remembers ids for 15 minutes). */
const ACK_TIMEOUT = 10 * 60_000;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const joinForm = $<HTMLFormElement>("join");
const joinError = $<HTMLParagraphElement>("join-error");
const nameInput = $<HTMLInputElement>("name");
const roomInput = $<HTMLInputElement>("room");
const chat = $<HTMLElement>("chat");
const statusEl = $<HTMLSpanElement>("status");
const roomName = $<HTMLElement>("room-name");
const countEl = $<HTMLElement>("count");
const membersEl = $<HTMLElement>("members");
const messagesEl = $<HTMLOListElement>("messages");
const typingEl = $<HTMLParagraphElement>("typing");
const composer = $<HTMLFormElement>("composer");
const textInput = $<HTMLInputElement>("text");
const leaveButton = $<HTMLButtonElement>("leave");

const STORAGE_KEY = "wirecable-demo";
const consumer = createConsumer("/cable");

let subscription: Subscription | undefined;
let myName = "";
const shown = new Map<string, HTMLLIElement>();
const typers = new Map<string, { name: string; timer: ReturnType<typeof setTimeout> }>();
let lastTypingSent = 0;
let typingIdle: ReturnType<typeof setTimeout> | undefined;
let wasConnected = false;

function setStatus(state: string, text: string): void {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

consumer.client.on("error", ({ error }: { error: Error }) => console.warn("wirecable:", error.message));
consumer.client.on("connecting", () => {
  if (subscription && statusEl.dataset.state !== "reconnecting") setStatus("connecting", "connecting…");
});
consumer.client.on("reconnecting", ({ attempt, delay }: { attempt: number; delay: number }) => {
  if (!subscription) return;
  setStatus("reconnecting", `reconnecting (attempt ${attempt}, in ${(delay / 1000).toFixed(1)} s)…`);
});

function randomId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function atBottom(): boolean {
  return messagesEl.scrollHeight - messagesEl.scrollTop - messagesEl.clientHeight < 40;
}

function append(li: HTMLLIElement): void {
  const stick = atBottom();
  messagesEl.append(li);
  if (stick) messagesEl.scrollTop = messagesEl.scrollHeight;
}

function system(text: string, kind = "system"): void {
  const li = document.createElement("li");
  li.className = "system";
  li.dataset.kind = kind;
  li.textContent = text;
  append(li);
}

function renderMessage(id: string, name: string, text: string, at: number | null, state: string): HTMLLIElement {
  let li = shown.get(id);
  if (li === undefined) {
    li = document.createElement("li");
    li.className = "message";
    li.dataset.id = id;
    const who = document.createElement("span");
    who.className = "name";
    who.textContent = name; // textContent: user data is never HTML
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    const time = document.createElement("time");
    li.append(who, body, time);
    shown.set(id, li);
    append(li);
  }
  li.dataset.state = state;
  if (at !== null) {
    const time = li.querySelector("time")!;
    time.dateTime = new Date(at).toISOString();
    time.textContent = new Date(at).toLocaleTimeString();
  }
  return li;
}

function renderTyping(): void {
  const names = [...new Set([...typers.values()].map((t) => t.name))];
  typingEl.textContent =
    names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…` : `${names.join(", ")} are typing…`;
}

function markRefused(id: string, reason: string): void {
  const li = shown.get(id);
  if (li === undefined || li.dataset.state === "refused") return;
  li.dataset.state = "refused";
  li.title = reason;
  system(`not sent: ${reason}`, "refused");
}

function renderPresence(change: PresenceChange): void {
  const names = [...change.members.values()].map((info) => String((info as { name?: unknown } | null)?.name ?? "?"));
  names.sort((a, b) => a.localeCompare(b));
  countEl.textContent = String(change.total);
  membersEl.textContent = names.join(", ");
  if (change.type !== "update") return;
  const nameOf = (info: unknown) => String((info as { name?: unknown } | null)?.name ?? "someone");
  for (const j of change.joins) system(`${nameOf(j.info)} joined`, "join");
  for (const l of change.leaves) system(`${nameOf(l.info)} left`, "leave");
}

function receive(data: Incoming): void {
  switch (data.type) {
    case "message":
      renderMessage(data.id, data.name, data.text, data.at, "sent");
      typers.delete(data.name);
      renderTyping();
      return;
    case "refused":
      if (data.id !== null) markRefused(data.id, data.reason);
      return;
    case "typing": {
      const key = data.member ?? data.name;
      const previous = typers.get(key);
      if (previous) clearTimeout(previous.timer);
      typers.delete(key);
      if (data.typing && data.name !== myName) {
        const expire = (): void => {
          typers.delete(key);
          renderTyping();
        };
        typers.set(key, { name: data.name, timer: setTimeout(expire, 5000) });
      }
      renderTyping();
      return;
    }
  }
}

/** An acknowledged perform: the consumer keeps and re-sends it until the server answers. */
function send(id: string, text: string): void {
  if (!subscription) return;
  subscription.perform("speak", { id, text }, { ack: true, timeout: ACK_TIMEOUT }).then(
    (reply) => {
      const refused = (reply as { refused?: string } | null)?.refused;
      if (refused !== undefined) markRefused(id, refused);
      else if (shown.get(id)?.dataset.state === "pending") shown.get(id)!.dataset.state = "sent";
    },
    (error: unknown) => {
      const code = error instanceof AckError ? error.code : "ERROR";
      if (code !== "CLOSED") markRefused(id, code === "TIMEOUT" ? "no answer from the server" : code);
    },
  );
}

function join(name: string, room: string, member = randomId()): void {
  // Joining again (another name or room) first leaves: no ghost member stays behind.
  subscription?.unsubscribe();
  subscription = undefined;
  myName = name;
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ name, room, member }));
  joinForm.hidden = true;
  chat.hidden = false;
  roomName.textContent = room;
  setStatus("connecting", "connecting…");
  subscription = consumer.subscriptions.create(
    { channel: "ChatChannel", room, name, member },
    {
      connected({ reconnected }: { reconnected: boolean }) {
        // Over the HTTP fallback when this network blocks WebSockets (docs/fallback.md).
        const sse = consumer.client.transport === "sse";
        setStatus("connected", sse ? "connected (HTTP fallback)" : "connected");
        statusEl.dataset.transport = consumer.client.transport;
        if (reconnected || wasConnected) system("reconnected", "reconnected");
        wasConnected = true;
        textInput.focus();
      },
      disconnected({ willAttemptReconnect }: { willAttemptReconnect: boolean }) {
        setStatus(willAttemptReconnect ? "reconnecting" : "closed", willAttemptReconnect ? "reconnecting…" : "offline");
        system("connection lost: reconnecting", "disconnected");
        typers.clear();
        renderTyping();
      },
      rejected() {
        setStatus("rejected", "rejected");
        leave();
        joinError.hidden = false;
        joinError.textContent = "The server refused this name or room.";
      },
      received(data: unknown) {
        receive(data as Incoming);
      },
      presence(change: PresenceChange) {
        renderPresence(change);
      },
      resync(details: ResyncInfo) {
        const why = Object.values(details.streams)[0]?.reason === "epoch" ? "the server restarted" : "too long away";
        system(`some messages sent while you were away could not be recovered (${why})`, "resync");
      },
    },
  );
}

function leave(): void {
  subscription?.unsubscribe();
  subscription = undefined;
  wasConnected = false;
  sessionStorage.removeItem(STORAGE_KEY);
  consumer.disconnect();
  messagesEl.replaceChildren();
  shown.clear();
  chat.hidden = true;
  joinForm.hidden = false;
  setStatus("idle", "not connected");
}

joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = nameInput.value.trim();
  const room = roomInput.value.trim();
  if (!name || !/^[A-Za-z0-9_-]{1,32}$/.test(room)) {
    joinError.hidden = false;
    joinError.textContent = "A name and a room of letters, digits, - and _, please.";
    return;
  }
  joinError.hidden = true;
  join(name, room);
});

composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = textInput.value;
  if (text.trim() === "" || !subscription) return;
  textInput.value = "";
  const id = randomId();
  renderMessage(id, myName, text, null, "pending");
  send(id, text);
  if (lastTypingSent !== 0) {
    subscription.perform("typing", { typing: false });
    lastTypingSent = 0;
  }
});

textInput.addEventListener("input", () => {
  if (!subscription?.confirmed) return;
  const now = Date.now();
  if (now - lastTypingSent > 2000) {
    lastTypingSent = now;
    subscription.perform("typing", { typing: true });
  }
  clearTimeout(typingIdle);
  typingIdle = setTimeout(() => {
    if (lastTypingSent !== 0 && subscription?.confirmed) subscription.perform("typing", { typing: false });
    lastTypingSent = 0;
  }, 3000);
});

leaveButton.addEventListener("click", () => leave());

// A reload keeps the name and room of this tab (sessionStorage) and joins again at once.
try {
  const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null") as {
    name?: string;
    room?: string;
    member?: string;
  } | null;
  if (saved?.name && saved.room) {
    nameInput.value = saved.name;
    roomInput.value = saved.room;
    join(saved.name, saved.room, saved.member && /^[A-Za-z0-9_-]{1,64}$/.test(saved.member) ? saved.member : undefined);
  }
} catch {
  sessionStorage.removeItem(STORAGE_KEY);
}
