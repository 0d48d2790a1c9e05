// Interop client on Node's ws: drives a wss echo server through the cases
// of peers_test.go and prints "ok <case>" for each, then "done".
// Usage: NODE_PATH=/usr/share/nodejs node client.js ws://host:port/ sizes...
'use strict';
const WebSocket = require('ws');

const url = process.argv[2];
const sizes = process.argv.slice(3).map(Number);

function fail(msg) {
  console.log('FAIL ' + msg);
  process.exit(1);
}

// payload returns n bytes of a repeating pattern: ASCII letters for text.
function payload(n, text) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = text ? 97 + (i % 26) : (i * 31 + (i >> 8)) & 0xff;
  return b;
}

// connect opens a connection whose events are queued, so no event is
// missed between awaits.
function connect() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: 64 << 20 });
    const events = [];
    let waiter = null;
    const push = (e) => {
      events.push(e);
      if (waiter) { const w = waiter; waiter = null; w(); }
    };
    ws.on('message', (data, isBinary) => push({ kind: 'message', data, isBinary }));
    ws.on('ping', (data) => push({ kind: 'ping', data }));
    ws.on('pong', (data) => push({ kind: 'pong', data }));
    ws.on('close', (code, reason) => push({ kind: 'close', code, reason: reason.toString() }));
    ws.on('error', (err) => push({ kind: 'error', err }));
    ws.next = async (kind) => {
      for (;;) {
        if (events.length === 0) await new Promise((r) => { waiter = r; });
        const e = events.shift();
        if (e.kind === 'error') fail('error: ' + e.err);
        if (e.kind !== kind) fail(`got ${e.kind} while waiting for ${kind}`);
        return e;
      }
    };
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function echo(ws, name, data, text, options) {
  const m = ws.next('message');
  if (options) {
    for (const [i, part] of data.entries()) ws.send(part, { binary: !text, fin: i === data.length - 1 });
    data = Buffer.concat(data);
  } else {
    ws.send(data, { binary: !text });
  }
  const e = await m;
  if (e.isBinary === text) fail(`${name}: message type changed`);
  if (!Buffer.from(e.data).equals(data)) fail(`${name}: got ${e.data.length} bytes back, sent ${data.length}`);
  console.log('ok ' + name);
}

async function main() {
  let ws = await connect();
  for (const n of sizes) {
    await echo(ws, `text ${n}`, payload(n, true), true);
    await echo(ws, `binary ${n}`, payload(n, false), false);
  }
  await echo(ws, 'text unicode', Buffer.from('héllo wörld € 𝄞'), true);
  await echo(ws, 'fragmented text', [Buffer.from('frag'), Buffer.from('mented \xe2\x82', 'latin1'), Buffer.from('\xac message', 'latin1')], true, true);
  await echo(ws, 'fragmented binary', [payload(100000, false), payload(1, false), payload(70000, false)], false, true);

  ws.ping(Buffer.from('hello-ping'));
  const pong = await ws.next('pong');
  if (pong.data.toString() !== 'hello-ping') fail('pong payload ' + pong.data);
  console.log('ok client ping');

  ws.send('cmd:ping:srv');
  const ping = await ws.next('ping');
  if (ping.data.toString() !== 'srv') fail('ping payload ' + ping.data);
  const after = await ws.next('message');
  if (after.data.toString() !== 'pinged') fail('after ping: ' + after.data);
  console.log('ok server ping');

  ws.close(4000, 'bye');
  const c1 = await ws.next('close');
  if (c1.code !== 4000) fail('client close answered with ' + c1.code);
  console.log('ok client close');

  ws = await connect();
  ws.send('cmd:close:4001');
  const c2 = await ws.next('close');
  if (c2.code !== 4001) fail('server close code ' + c2.code);
  console.log('ok server close');
  console.log('done');
}

main().catch((e) => fail(String(e && e.stack || e)));
