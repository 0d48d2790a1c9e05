// Node ws echo server for the interop tests, with permessage-deflate
// accepting what the client offers. It prints its port, then serves until
// stdin closes.
const { WebSocketServer } = require('ws');

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1 << 24, perMessageDeflate: { threshold: 0 } });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => console.log(wss.address().port));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
