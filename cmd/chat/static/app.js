// The chat page. Everything users send is put in the page as text
// (textContent, DOM nodes), never as HTML. The protocol is described in
// docs/chat.md.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  ws: null,
  // The nickname and room of this tab survive a reload (sessionStorage);
  // the last nickname used only pre-fills the login form of new tabs.
  nick: sessionStorage.getItem("chat.nick") || "",
  room: roomFromHash() || sessionStorage.getItem("chat.room") || "lobby",
  joined: false,
  maxText: 2000,
  maxImage: 1 << 20,
  historyLeft: 0,
  // The room whose messages are on screen and the id of the last one: on
  // a reconnect the page asks only for what came after it.
  shownRoom: "",
  lastId: "",
  users: [],
  retries: 0,
  retryTimer: 0,
  hidden: false, // the page is in the back/forward cache: no socket
  outbox: [], // messages typed while offline, sent once back
  pinned: true, // the messages are scrolled to the bottom
  unseen: 0, // messages that arrived while scrolled up or in another tab
  serverRooms: [],
  // Per room, the last message id this browser saw and the server's count
  // of the room's messages then: other rooms' unread counts.
  seen: JSON.parse(localStorage.getItem("chat.seen") || "{}"),
  unreadElsewhere: 0,
  visited: JSON.parse(localStorage.getItem("chat.rooms") || "[]"),
};

function roomFromHash() {
  return decodeURIComponent(location.hash.slice(1)).trim().toLowerCase();
}

// ---- connection ----

function connect() {
  clearTimeout(state.retryTimer);
  if (state.hidden || (state.ws && state.ws.readyState <= WebSocket.OPEN)) return;
  setStatus("connecting", "Connecting…");
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  ws.onopen = () => {
    state.retries = 0;
    setStatus("online", "Connected");
    if (state.nick) join(state.nick, state.room);
  };
  ws.onmessage = (e) => {
    if (typeof e.data === "string") {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      handle(msg);
    } else {
      handleImage(e.data);
    }
  };
  ws.onclose = (e) => {
    if (state.ws !== ws) return;
    state.ws = null;
    state.joined = false;
    if (state.hidden) return;
    const delay = Math.min(5000, 500 * 2 ** state.retries) * (0.75 + Math.random() / 2);
    state.retries++;
    setStatus("offline", `${closeWords(e.code)} Reconnecting…`);
    $("users").classList.add("stale");
    $("offline").hidden = false;
    state.retryTimer = setTimeout(connect, delay);
  };
}

// closeWords says why this page's own connection closed.
function closeWords(code) {
  switch (code) {
    case 1000: return "Disconnected.";
    case 1001: return "The server is restarting.";
    case 1008: return "Disconnected for going past the limits.";
    case 1009: return "Disconnected: a message was too big.";
    case 1011: return "The server had a problem.";
    case 1012: case 1013: return "The server is busy.";
  }
  return "The connection was lost.";
}

// renamed holds the new nicknames of people who changed theirs: their
// join that follows is not news.
const renamed = new Set();

// leaveWords says why someone left, from the server's reason.
function leaveWords(msg) {
  if (msg.to) return `${msg.from} went to #${msg.to}`;
  if (msg.nick) return `${msg.from} is now ${msg.nick}`;
  const why = {
    "left": "",
    "went away": "closed the page",
    "closed without status": "closed the page",
    "too slow, disconnected": "was too slow to keep up",
    "message too big": "sent something too big",
    "protocol error": "lost the connection",
    "timed out": "stopped responding",
    "server shut down": "server shut down",
    "connection lost": "lost the connection",
    "server restarted": "their server restarted",
    "server lost": "their server went away",
  }[msg.reason];
  return why ? `${msg.from} left (${why})` : `${msg.from} left`;
}

function connected() { return state.ws && state.ws.readyState === WebSocket.OPEN; }

function send(obj) {
  if (!connected()) return false;
  state.ws.send(JSON.stringify(obj));
  return true;
}

function join(nick, room) {
  const after = room === state.shownRoom ? state.lastId : "";
  if (!send({ type: "join", nick, room, after })) showError("Offline: the room changes once the page is connected again.");
}

// The back/forward cache keeps a page that is navigated away from alive:
// its socket is closed at once so that the others see it leave, and
// opened again when the page is shown.
window.addEventListener("pagehide", () => {
  state.hidden = true;
  clearTimeout(state.retryTimer);
  if (state.ws) state.ws.close(4001, "page hidden") // read as 1001, going away;
  state.ws = null;
  state.joined = false;
});
window.addEventListener("pageshow", (e) => {
  state.hidden = false;
  if (e.persisted) connect();
});

// ---- messages from the server ----

function handle(msg) {
  switch (msg.type) {
    case "welcome": welcome(msg); break;
    case "history":
      state.historyLeft = msg.resume ? 0 : msg.count || 0;
      if (msg.gap) addNotice("Some earlier messages could not be recovered.", Date.now());
      if (!msg.resume && !msg.count && !$("messages").querySelector(".msg")) addEmpty();
      break;
    case "message":
      if (!newId(msg.id)) break;
      addMessage(msg.from, msg.time, (body) => fillText(body, msg.text));
      afterHistoryItem();
      break;
    case "join":
      if (renamed.has(msg.from)) renamed.delete(msg.from);
      else addNotice(`${msg.from} joined`, msg.time);
      showUsers([...state.users.filter((u) => u !== msg.from), msg.from]);
      refreshRooms();
      break;
    case "leave":
      if (msg.nick) renamed.add(msg.nick);
      addNotice(leaveWords(msg), msg.time);
      showUsers(state.users.filter((u) => u !== msg.from));
      refreshRooms();
      break;
    case "presence": showUsers(msg.users || []); break;
    case "rooms": gotRooms(msg.rooms || []); break;
    case "status": showBanner(msg.backplane === "down"); break;
    case "error":
      if (!state.joined || !$("login").hidden) {
        $("login").hidden = false;
        $("login-error").textContent = msg.message;
      } else {
        showError(msg.message);
      }
      break;
  }
}

function welcome(msg) {
  state.joined = true;
  state.nick = msg.nick;
  state.room = msg.room;
  state.maxText = msg.maxText || state.maxText;
  state.maxImage = msg.maxImage || state.maxImage;
  sessionStorage.setItem("chat.nick", msg.nick);
  sessionStorage.setItem("chat.room", msg.room);
  localStorage.setItem("chat.lastNick", msg.nick);
  state.visited = [msg.room, ...state.visited.filter((r) => r !== msg.room)].slice(0, 8);
  localStorage.setItem("chat.rooms", JSON.stringify(state.visited));
  if (roomFromHash() !== msg.room) history.replaceState(null, "", "#" + encodeURIComponent(msg.room));
  $("login").hidden = true;
  $("offline").hidden = true;
  $("users").classList.remove("stale");
  $("room-name").textContent = msg.room;
  $("me-nick").textContent = msg.nick;
  $("text").placeholder = "Message #" + msg.room;
  if (msg.room !== state.shownRoom) {
    $("messages").replaceChildren();
    lastMsg = null;
    state.shownRoom = msg.room;
    state.lastId = "";
    state.unseen = 0;
    state.pinned = true;
  }
  showUnseen();
  showBanner(msg.backplane === "down");
  hideError();
  closeDrawer();
  send({ type: "rooms" });
  flushOutbox();
}

// An image frame: a 4-byte big-endian header length, a JSON header, the image.
function handleImage(buf) {
  if (buf.byteLength < 4) return;
  const n = new DataView(buf).getUint32(0);
  let hdr;
  try { hdr = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n))); } catch { return; }
  if (!newId(hdr.id)) return;
  const url = URL.createObjectURL(new Blob([buf.slice(4 + n)], { type: hdr.mime }));
  addMessage(hdr.from, hdr.time, (body) => {
    const img = document.createElement("img");
    img.src = url;
    img.alt = "image from " + hdr.from;
    img.dataset.size = hdr.size;
    img.tabIndex = 0;
    img.onload = () => { if (state.pinned) toBottom(); };
    img.onclick = () => view(url, img.alt);
    img.onkeydown = (e) => { if (e.key === "Enter") view(url, img.alt); };
    body.append(img);
  });
  afterHistoryItem();
}

// newId records the id of the last message shown. (The server sends each
// message once, resumes included: this is the place to refuse one if not.)
function newId(id) {
  if (id) {
    state.lastId = id;
    if (state.historyLeft === 0) {
      const s = state.seen[state.room] || { last: "", count: 0 };
      state.seen[state.room] = { last: id, count: s.count + 1 };
      localStorage.setItem("chat.seen", JSON.stringify(state.seen));
    }
  }
  return true;
}

// unread is how many messages of a room from the rooms list came after
// the last one this browser saw there; -1 for some (the server restarted
// and counts anew), 0 for a room never visited.
function unread(info) {
  const s = state.seen[info.name];
  if (!s || !info.last || Number(info.last) <= Number(s.last || 0)) return 0;
  return info.count >= s.count ? info.count - s.count : -1;
}

function showBanner(down) { $("banner").hidden = !down; }

function afterHistoryItem() {
  if (state.historyLeft > 0 && --state.historyLeft === 0) {
    appendLine(el("div", "divider", "earlier messages above"));
  }
}

// ---- rendering ----

// el makes an element with a class and, if given, its text.
function el(tag, className, text) {
  const e = document.createElement(tag);
  e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

// fillText puts a message's text in body, its http and https addresses as
// links; everything else stays text.
function fillText(body, text) {
  const re = /https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;
  let at = 0;
  for (const m of text.matchAll(re)) {
    let url;
    try { url = new URL(m[0]); } catch { continue; }
    if (url.protocol !== "http:" && url.protocol !== "https:") continue;
    body.append(document.createTextNode(text.slice(at, m.index)));
    const a = el("a", "link", m[0]);
    a.href = url.href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    body.append(a);
    at = m.index + m[0].length;
  }
  body.append(document.createTextNode(text.slice(at)));
}

function atBottom() {
  const m = $("messages");
  return m.scrollHeight - m.scrollTop - m.clientHeight < 40;
}

function toBottom() {
  const m = $("messages");
  m.scrollTop = m.scrollHeight;
  state.pinned = true;
}

// appendLine adds a line at the bottom: followed if the view is at the
// bottom, counted as unseen if not.
function appendLine(line, counts) {
  const empty = $("messages").querySelector(".empty");
  if (empty) empty.remove();
  $("messages").append(line);
  afterAppend(counts);
}

function afterAppend(counts) {
  if (state.pinned) toBottom();
  if (counts && (!state.pinned || document.hidden) && state.historyLeft === 0) {
    state.unseen++;
    showUnseen();
  }
}

function showUnseen() {
  const n = state.unseen;
  const jump = $("jump");
  jump.hidden = n === 0 || state.pinned;
  jump.textContent = n === 1 ? "1 new message ↓" : `${n} new messages ↓`;
  const all = n + state.unreadElsewhere;
  document.title = (all ? `(${all}) ` : "") + "#" + state.room + " · wss chat";
}

function seen() {
  if (state.pinned && !document.hidden && state.unseen) {
    state.unseen = 0;
    showUnseen();
  }
}

function addEmpty() {
  $("messages").append(el("div", "empty", `No messages in #${state.room} yet. Say hello!`));
}

// Messages from one sender within five minutes are grouped under one
// name and avatar.
let lastMsg = null;

function addMessage(from, time, fill) {
  const last = $("messages").lastElementChild;
  const counts = from !== state.nick;
  if (lastMsg && last === lastMsg.row && lastMsg.from === from && time - lastMsg.time < 5 * 60 * 1000) {
    const body = el("div", "body");
    fill(body);
    lastMsg.content.append(body);
    lastMsg.time = time;
    afterAppend(counts);
    return;
  }
  const mine = from === state.nick;
  const row = el("div", "msg" + (mine ? " mine" : ""));
  const content = el("div", "content");
  lastMsg = { row, content, from, time };
  const av = el("div", "avatar", [...from][0] || "?");
  av.style.background = colorOf(from);
  const when = el("span", "time", formatTime(time));
  when.title = new Date(time).toLocaleString();
  const meta = el("div", "meta");
  meta.append(el("span", "from", from));
  if (mine) meta.append(el("span", "you", "you"));
  meta.append(when);
  const body = el("div", "body");
  fill(body);
  content.append(meta, body);
  row.append(av, content);
  appendLine(row, counts);
}

function addNotice(text, time) {
  const d = el("div", "notice", text);
  d.append(el("span", "time", formatTime(time)));
  appendLine(d);
}

function showUsers(users) {
  users = [...users].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
  state.users = users;
  $("online-count").textContent = users.length;
  $("users").replaceChildren(...users.map((u) => {
    const li = document.createElement("li");
    li.textContent = u;
    if (u === state.nick) li.className = "self";
    return li;
  }));
}

// refreshRooms asks for the rooms list once people came or went, at most
// once a second.
let roomsTimer = 0;
function refreshRooms() {
  if (roomsTimer) return;
  roomsTimer = setTimeout(() => { roomsTimer = 0; send({ type: "rooms" }); }, 1000);
}

function gotRooms(rooms) {
  state.serverRooms = rooms;
  const here = rooms.find((r) => r.name === state.room);
  if (here && state.joined) state.seen[state.room] = { last: here.last || "", count: here.count || 0 };
  localStorage.setItem("chat.seen", JSON.stringify(state.seen));
  showRooms();
  showUnseen();
}

// showRooms lists the rooms with people in them (from the server), the
// rooms this browser visited and the current one.
function showRooms() {
  const info = new Map(state.serverRooms.map((r) => [r.name, r]));
  const names = [...new Set([state.room, ...info.keys(), ...state.visited])].sort();
  state.unreadElsewhere = 0;
  $("rooms").replaceChildren(...names.map((r) => {
    const li = document.createElement("li");
    if (r === state.room) li.className = "current";
    const a = el("a", "", "# " + r);
    a.href = "#" + encodeURIComponent(r);
    const i = info.get(r);
    const n = i && r !== state.room ? unread(i) : 0;
    if (n) {
      const badge = el("span", "unread", n > 0 ? String(n) : "new");
      badge.title = n > 0 ? `${n} unread` : "new messages";
      a.append(badge);
      if (n > 0) state.unreadElsewhere += n;
    } else if (i && i.users) {
      const c = el("span", "count", String(i.users));
      c.title = `${i.users} online`;
      a.append(c);
    }
    li.append(a);
    return li;
  }));
}

function formatTime(ms) {
  const d = new Date(ms);
  const t = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (d.toDateString() === new Date().toDateString()) return t;
  const sameYear = d.getFullYear() === new Date().getFullYear();
  return d.toLocaleDateString([], { day: "numeric", month: "short", year: sameYear ? undefined : "numeric" }) + " " + t;
}

function colorOf(s) {
  let h = 0;
  for (const c of s) h = (h * 31 + c.codePointAt(0)) >>> 0;
  return `hsl(${h % 360} 55% 48%)`;
}

let toastTimer;
function showError(text) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(hideError, 6000);
}
function hideError() { $("toast").hidden = true; }

function setStatus(cls, text) {
  const s = $("status");
  s.className = "status " + cls;
  s.textContent = text;
  s.title = text;
}

// The rooms list is kept fresh while the page is looked at.
setInterval(() => { if (state.joined && !document.hidden) send({ type: "rooms" }); }, 5000);

// ---- the phone drawer ----

function openDrawer() {
  document.body.classList.add("drawer-open");
  send({ type: "rooms" });
}
function closeDrawer() { document.body.classList.remove("drawer-open"); }
$("menu").onclick = () => document.body.classList.contains("drawer-open") ? closeDrawer() : openDrawer();
$("scrim").onclick = closeDrawer;

// ---- user actions ----

// checkNickHere gives the reason a nickname cannot be used, before asking
// the server (which has the full rules and says its own reasons).
function checkNickHere(nick) {
  if (!nick) return "A nickname needs at least one letter or digit.";
  if ([...nick].length > 24) return `A nickname has at most 24 characters (this one has ${[...nick].length}).`;
  return "";
}

$("login-form").onsubmit = (e) => {
  e.preventDefault();
  const nick = $("nick-input").value.trim();
  const room = $("login-room").value.trim().toLowerCase() || state.room || "lobby";
  const why = checkNickHere(nick);
  $("login-error").textContent = why;
  if (why) return;
  if (!connected()) {
    $("login-error").textContent = "Offline: waiting for the connection…";
  }
  if (state.joined) {
    join(nick, room); // the welcome makes it this tab's nickname
    return;
  }
  state.nick = nick;
  state.room = room;
  if (connected()) join(nick, room);
};

$("rename").onclick = () => {
  $("nick-input").value = state.nick;
  $("login-room").value = state.room;
  $("login-error").textContent = "";
  $("login-title").textContent = "Change your nickname";
  $("login-cancel").hidden = false;
  $("login").hidden = false;
  $("nick-input").focus();
};
$("login-cancel").onclick = () => { if (state.joined) $("login").hidden = true; };

$("room-form").onsubmit = (e) => {
  e.preventDefault();
  const room = $("room-input").value.trim().toLowerCase();
  if (!room) return;
  $("room-input").value = "";
  join(state.nick, room);
};

window.addEventListener("hashchange", () => {
  const room = roomFromHash();
  if (room && room !== state.room && state.joined) join(state.nick, room);
  closeDrawer();
});

$("composer").onsubmit = (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!text.trim()) return;
  if ([...text].length > state.maxText) {
    showError(`A message has at most ${state.maxText} characters.`);
    return;
  }
  if (!state.joined || !send({ type: "say", text })) {
    queue(text);
  }
  $("text").value = "";
  autosize();
};

// queue keeps a message typed while offline, shown as waiting, until the
// page is back in the room.
function queue(text) {
  const row = el("div", "msg mine pending");
  const content = el("div", "content");
  const meta = el("div", "meta");
  meta.append(el("span", "from", state.nick), el("span", "time", "waiting to send"));
  const body = el("div", "body");
  fillText(body, text);
  content.append(meta, body);
  row.append(el("div", "avatar", "…"), content);
  state.outbox.push({ text, row });
  lastMsg = null;
  appendLine(row);
}

function flushOutbox() {
  const out = state.outbox;
  state.outbox = [];
  for (const m of out) {
    m.row.remove();
    if (!send({ type: "say", text: m.text })) state.outbox.push(m);
  }
}

$("text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $("composer").requestSubmit();
  }
});
function autosize() {
  const t = $("text");
  t.style.height = "auto";
  t.style.height = Math.min(t.scrollHeight, 140) + "px";
}
$("text").addEventListener("input", autosize);

// The view follows the bottom through resizes (a phone keyboard, a
// rotation) when it was there; scrolled up, it stays where it is.
$("messages").addEventListener("scroll", () => {
  state.pinned = atBottom();
  if (state.pinned) { $("jump").hidden = true; seen(); }
});
new ResizeObserver(() => { if (state.pinned) toBottom(); }).observe($("messages"));
$("jump").onclick = () => { toBottom(); seen(); showUnseen(); };
document.addEventListener("visibilitychange", seen);

// ---- images ----

// shrink re-encodes an image on a canvas, keeping its aspect ratio, until
// it fits in limit bytes; progress reports the steps.
async function shrink(file, limit) {
  const bitmap = await createImageBitmap(file);
  let scale = Math.min(1, 2560 / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  for (let step = 0; step < 12; step++) {
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((ok) => canvas.toBlob(ok, "image/jpeg", 0.85));
    if (blob && blob.size <= limit) return blob;
    scale *= 0.75;
  }
  throw new Error("too big");
}

async function shareImage(file) {
  if (!file) return;
  if (!/^image\/(png|jpeg|gif|webp)$/.test(file.type)) {
    showError("Only PNG, JPEG, GIF and WebP images can be shared.");
    return;
  }
  if (!state.joined) {
    showError("Offline: images can be shared once the page is connected again.");
    return;
  }
  let data = file;
  if (file.size > state.maxImage) {
    progress("Scaling the image down…", 0);
    try {
      data = await shrink(file, state.maxImage);
    } catch {
      progress();
      showError("That image could not be made small enough to share.");
      return;
    }
  }
  const buf = await data.arrayBuffer();
  if (!connected()) { progress(); showError("Offline: the image was not sent."); return; }
  state.ws.send(buf);
  watchUpload(state.ws, buf.byteLength);
}

// watchUpload shows how much of an image has left the page.
function watchUpload(ws, total) {
  const tick = () => {
    const left = ws.readyState === WebSocket.OPEN ? ws.bufferedAmount : 0;
    if (left === 0) { progress(); return; }
    progress("Sending the image…", 1 - left / total);
    setTimeout(tick, 100);
  };
  tick();
}

function progress(text, done) {
  const p = $("progress");
  p.hidden = text === undefined;
  if (text === undefined) return;
  p.firstChild.textContent = text;
  p.querySelector("progress").value = done;
}

// view shows an image over the page.
function view(url, alt) {
  const v = $("viewer");
  v.querySelector("img").src = url;
  v.querySelector("img").alt = alt;
  v.hidden = false;
  v.focus();
}
$("viewer").onclick = () => { $("viewer").hidden = true; };
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape") { $("viewer").hidden = true; closeDrawer(); }
});

$("file").onchange = (e) => {
  shareImage(e.target.files[0]);
  e.target.value = "";
};

const chat = $("chat");
let dragDepth = 0;
chat.addEventListener("dragenter", (e) => {
  if (![...e.dataTransfer.types].includes("Files")) return;
  e.preventDefault();
  dragDepth++;
  $("drop").hidden = false;
});
chat.addEventListener("dragover", (e) => e.preventDefault());
chat.addEventListener("dragleave", () => {
  if (--dragDepth <= 0) { dragDepth = 0; $("drop").hidden = true; }
});
chat.addEventListener("drop", (e) => {
  e.preventDefault();
  dragDepth = 0;
  $("drop").hidden = true;
  shareImage(e.dataTransfer.files[0]);
});
document.addEventListener("paste", (e) => {
  const item = [...e.clipboardData.items].find((i) => i.kind === "file" && i.type.startsWith("image/"));
  if (item) shareImage(item.getAsFile());
});

// ---- start ----

$("nick-input").value = state.nick || localStorage.getItem("chat.lastNick") || "";
$("login-room").value = state.room === "lobby" ? "" : state.room;
$("login").hidden = !!state.nick;
showRooms();
connect();
