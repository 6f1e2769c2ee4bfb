/**
 * The demo chat page (bundled by scripts/build-demo.mjs into dist/cli/demo/public/app.js).
 * Uses wirecable's ActionCable consumer (src/client) against the demo's ChatChannel.
 *
 * What it promises (docs/demo.md):
 * - A message is shown at once as pending, and as sent when the server's broadcast of it comes
 *   back. Messages typed while disconnected (or before the subscription is confirmed) are kept
 *   in this page and sent in order once the subscription is confirmed again; messages that had
 *   been handed to a socket that then died unacknowledged are sent again after the
 *   reconnection. The server and every page drop duplicates by message id: each message is
 *   shown once.
 * - Pending messages live in this page only: closing or reloading it loses them.
 * Every piece of user data is rendered with textContent: never parsed as HTML.
 */
import { createConsumer, type Subscription } from "../../../client/index.js";

type Incoming =
  | { type: "message"; id: string; name: string; text: string; at: number }
  | { type: "history"; messages: Array<{ type: "message"; id: string; name: string; text: string; at: number }> }
  | { type: "presence"; event: "join" | "leave" | "sync"; name?: string; count: number; members: string[] }
  | { type: "typing"; name: string; member?: string; typing: boolean }
  | { type: "refused"; id: string | null; reason: string };

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

interface Outgoing {
  text: string;
  /** Handed to a socket (may be lost with it) rather than queued in the subscription. */
  sent: boolean;
}

let subscription: Subscription | undefined;
let myName = "";
const shown = new Map<string, HTMLLIElement>();
const outbox = new Map<string, Outgoing>();
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

function receive(data: Incoming): void {
  switch (data.type) {
    case "history":
      for (const m of data.messages) if (!shown.has(m.id)) renderMessage(m.id, m.name, m.text, m.at, "sent");
      return;
    case "message":
      outbox.delete(data.id);
      renderMessage(data.id, data.name, data.text, data.at, "sent");
      typers.delete(data.name);
      renderTyping();
      return;
    case "refused": {
      if (data.id === null) return;
      outbox.delete(data.id);
      const li = shown.get(data.id);
      if (li) {
        li.dataset.state = "refused";
        li.title = data.reason;
      }
      system(`not sent: ${data.reason}`, "refused");
      return;
    }
    case "presence":
      countEl.textContent = String(data.count);
      membersEl.textContent = data.members.join(", ");
      if (data.event === "join" && data.name !== undefined) system(`${data.name} joined`, "join");
      if (data.event === "leave" && data.name !== undefined) system(`${data.name} left`, "leave");
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

function send(id: string, text: string): void {
  const entry = outbox.get(id);
  if (!subscription || !entry) return;
  const result = subscription.perform("speak", { id, text });
  if (result === "sent") entry.sent = true;
  else if (result === "queued") entry.sent = false;
  else {
    outbox.delete(id);
    const li = shown.get(id);
    if (li) li.dataset.state = "refused";
    system(`not sent: the send queue is full`, "refused");
  }
}

function join(name: string, room: string): void {
  myName = name;
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ name, room }));
  joinForm.hidden = true;
  chat.hidden = false;
  roomName.textContent = room;
  setStatus("connecting", "connecting…");
  subscription = consumer.subscriptions.create(
    { channel: "ChatChannel", room, name },
    {
      connected({ reconnected }: { reconnected: boolean }) {
        setStatus("connected", "connected");
        if (reconnected || wasConnected) system("reconnected", "reconnected");
        wasConnected = true;
        // Messages handed to the socket that died may never have arrived: send them again
        // (queued ones were just flushed by the subscription itself). Duplicates are dropped by id.
        for (const [id, entry] of outbox) if (entry.sent) send(id, entry.text);
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
  outbox.clear();
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
  outbox.set(id, { text, sent: false });
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
  const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null") as { name?: string; room?: string } | null;
  if (saved?.name && saved.room) {
    nameInput.value = saved.name;
    roomInput.value = saved.room;
    join(saved.name, saved.room);
  }
} catch {
  sessionStorage.removeItem(STORAGE_KEY);
}
