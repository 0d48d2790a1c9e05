// Node ws client for the interop tests: for each combination of
// permessage-deflate parameters it connects, sends messages that compress,
// and checks every echo. One JSON line per combination on stdout.
const WebSocket = require('ws');
const crypto = require('crypto');

function messages() {
  const phrase = Buffer.from('the quick brown fox jumps over the lazy dog; ');
  const out = [];
  [0, 1, 50, 300, 5000, 40000, 200000].forEach((n, i) => {
    const b = Buffer.alloc(n);
    for (let j = 0; j < n; j++) b[j] = phrase[(j * 7 + i) % phrase.length];
    out.push(b.toString(), b, b.toString());
  });
  out.push(crypto.randomBytes(3000));
  return out;
}

function run(url, c, msgs) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      maxPayload: 1 << 24,
      perMessageDeflate: {
        serverNoContextTakeover: c.snt,
        clientNoContextTakeover: c.cnt,
        serverMaxWindowBits: c.sb || undefined,
        clientMaxWindowBits: c.cb || true,
        threshold: 0,
      },
    });
    let ext = '';
    let i = 0;
    ws.on('upgrade', (res) => { ext = res.headers['sec-websocket-extensions'] || ''; });
    ws.on('open', () => ws.send(msgs[0]));
    ws.on('message', (data, isBinary) => {
      const want = msgs[i];
      const wantBinary = Buffer.isBuffer(want);
      if (isBinary !== wantBinary || !Buffer.from(data).equals(Buffer.from(want))) {
        reject(new Error(`echo of message ${i} differs`));
        ws.terminate();
        return;
      }
      if (++i === msgs.length) { ws.close(1000); return; }
      ws.send(msgs[i]);
    });
    ws.on('close', (code) => (i === msgs.length ? resolve(ext) : reject(new Error(`closed ${code} after ${i}`))));
    ws.on('error', reject);
  });
}

(async () => {
  const [url, combos] = [process.argv[2], JSON.parse(process.argv[3])];
  const msgs = messages();
  for (const c of combos) {
    try {
      const ext = await run(url, c, msgs);
      console.log(JSON.stringify({ id: c.id, ext, ok: true }));
    } catch (e) {
      console.log(JSON.stringify({ id: c.id, ok: false, err: String(e) }));
    }
  }
})();
