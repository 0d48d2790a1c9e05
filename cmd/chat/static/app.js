// The chat page. Everything users send is put in the page as text
// (textContent), never as HTML. The protocol is described in docs/chat.md.
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
  rooms: JSON.parse(localStorage.getItem("chat.rooms") || "[]"),
};

function roomFromHash() {
  return decodeURIComponent(location.hash.slice(1)).trim().toLowerCase();
}

// ---- connection ----

function connect() {
  setStatus("connecting", "connecting…");
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  ws.onopen = () => {
    state.retries = 0;
    setStatus("online", "connected");
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
    state.joined = false;
    const delay = Math.min(5000, 500 * 2 ** state.retries) * (0.75 + Math.random() / 2);
    state.retries++;
    const why = e.code ? ` (${e.code}${e.reason ? " " + e.reason : ""})` : "";
    setStatus("offline", `disconnected${why}, reconnecting…`);
    setTimeout(connect, delay);
  };
}

function send(obj) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify(obj));
    return true;
  }
  showError("Not connected: the page is reconnecting.");
  return false;
}

function join(nick, room) {
  const after = room === state.shownRoom ? state.lastId : "";
  send({ type: "join", nick, room, after });
}

// ---- messages from the server ----

function handle(msg) {
  switch (msg.type) {
    case "welcome":
      state.joined = true;
      state.nick = msg.nick;
      state.room = msg.room;
      state.maxText = msg.maxText || state.maxText;
      state.maxImage = msg.maxImage || state.maxImage;
      sessionStorage.setItem("chat.nick", msg.nick);
      sessionStorage.setItem("chat.room", msg.room);
      localStorage.setItem("chat.lastNick", msg.nick);
      rememberRoom(msg.room);
      if (roomFromHash() !== msg.room) history.replaceState(null, "", "#" + encodeURIComponent(msg.room));
      $("login").hidden = true;
      $("room-name").textContent = msg.room;
      $("me-nick").textContent = msg.nick;
      $("text").placeholder = "Message #" + msg.room;
      document.title = "#" + msg.room + " · wss chat";
      if (msg.room !== state.shownRoom) {
        $("messages").replaceChildren();
        state.shownRoom = msg.room;
        state.lastId = "";
      }
      showBanner(msg.backplane === "down");
      hideError();
      $("text").focus();
      break;
    case "history":
      state.historyLeft = msg.resume ? 0 : msg.count || 0;
      if (msg.gap) addNotice("Some earlier messages could not be recovered.", Date.now());
      if (!msg.resume && !msg.count && !$("messages").querySelector(".msg")) {
        addEmpty();
      }
      break;
    case "message":
      if (!newId(msg.id)) break;
      addMessage(msg.from, msg.time, (body) => { body.textContent = msg.text; });
      afterHistoryItem();
      break;
    case "join":
      addNotice(`${msg.from} joined`, msg.time);
      showUsers([...state.users.filter((u) => u !== msg.from), msg.from]);
      break;
    case "leave": {
      const status = msg.status ? ` (${msg.status})` : "";
      addNotice(`${msg.from} left: ${msg.reason || "closed"}${status}`, msg.time);
      showUsers(state.users.filter((u) => u !== msg.from));
      break;
    }
    case "presence":
      showUsers(msg.users || []);
      break;
    case "status":
      showBanner(msg.backplane === "down");
      break;
    case "error":
      if (!state.joined) {
        $("login").hidden = false;
        $("login-error").textContent = msg.message;
      } else {
        showError(msg.message);
      }
      break;
  }
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
    const a = document.createElement("a");
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener";
    const img = document.createElement("img");
    img.src = url;
    img.alt = "image from " + hdr.from;
    img.onload = () => scrollIfPinned(true);
    a.append(img);
    body.append(a);
  });
  afterHistoryItem();
}

// newId records the id of the last message shown. (The server sends each
// message once, resumes included: this is the place to refuse one if not.)
function newId(id) {
  if (id) state.lastId = id;
  return true;
}

// showBanner shows or hides the notice that messages wait for the server's
// backplane.
function showBanner(down) {
  $("banner").hidden = !down;
}

function afterHistoryItem() {
  if (state.historyLeft > 0 && --state.historyLeft === 0) {
    appendLine(el("div", "divider", "earlier messages above"));
  }
}

// ---- rendering ----

function pinned() {
  const m = $("messages");
  return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
}

function scrollIfPinned(wasPinned) {
  if (wasPinned) $("messages").scrollTop = $("messages").scrollHeight;
}

// el makes an element with a class and, if given, its text.
function el(tag, className, text) {
  const e = document.createElement(tag);
  e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function appendLine(line) {
  const wasPinned = pinned();
  const empty = $("messages").querySelector(".empty");
  if (empty) empty.remove();
  $("messages").append(line);
  scrollIfPinned(wasPinned);
}

function addEmpty() {
  $("messages").append(el("div", "empty", `No messages in #${state.room} yet. Say hello!`));
}

// Messages from one sender within five minutes are grouped under one
// name and avatar.
let lastMsg = null;

function addMessage(from, time, fill) {
  const last = $("messages").lastElementChild;
  if (lastMsg && last === lastMsg.row && lastMsg.from === from && time - lastMsg.time < 5 * 60 * 1000) {
    const body = el("div", "body");
    fill(body);
    const wasPinned = pinned();
    lastMsg.content.append(body);
    lastMsg.time = time;
    scrollIfPinned(wasPinned);
    return;
  }
  const row = el("div", "msg" + (from === state.nick ? " mine" : ""));
  const content = el("div", "content");
  lastMsg = { row, content, from, time };
  const av = el("div", "avatar", [...from][0] || "?");
  av.style.background = colorOf(from);
  const when = el("span", "time", formatTime(time));
  when.title = new Date(time).toLocaleString();
  const meta = el("div", "meta");
  meta.append(el("span", "from", from), when);
  const body = el("div", "body");
  fill(body);
  content.append(meta, body);
  row.append(av, content);
  appendLine(row);
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

function rememberRoom(room) {
  state.rooms = [room, ...state.rooms.filter((r) => r !== room)].slice(0, 8);
  localStorage.setItem("chat.rooms", JSON.stringify(state.rooms));
  $("rooms").replaceChildren(...state.rooms.map((r) => {
    const li = document.createElement("li");
    if (r === room) li.className = "current";
    const a = document.createElement("a");
    a.href = "#" + encodeURIComponent(r);
    a.textContent = "# " + r;
    li.append(a);
    return li;
  }));
}

function formatTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
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

// ---- user actions ----

$("login-form").onsubmit = (e) => {
  e.preventDefault();
  const nick = $("nick-input").value.trim();
  const room = $("login-room").value.trim() || "lobby";
  if (!nick) return;
  $("login-error").textContent = "";
  state.nick = nick;
  state.room = room.toLowerCase();
  join(nick, state.room);
};

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
});

$("composer").onsubmit = (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!text.trim()) return;
  if ([...text].length > state.maxText) {
    showError(`A message has at most ${state.maxText} characters.`);
    return;
  }
  if (send({ type: "say", text })) {
    $("text").value = "";
    autosize();
  }
};

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

async function shareImage(file) {
  if (!file) return;
  if (!/^image\/(png|jpeg|gif|webp)$/.test(file.type)) {
    showError("Only PNG, JPEG, GIF and WebP images can be shared.");
    return;
  }
  if (file.size > state.maxImage) {
    showError(`That image is ${Math.round(file.size / 1024)} KiB; the limit is ${Math.round(state.maxImage / 1024)} KiB.`);
    return;
  }
  if (!state.joined) {
    showError("Join a room first.");
    return;
  }
  state.ws.send(await file.arrayBuffer());
}

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
rememberRoom(state.room);
connect();
