// A client in a process of its own, as a dashboard or a central tool would be: GETs a URL n
// times in a row and prints the latency of each (request sent to last byte received, ms) as a
// JSON array on stdout. Each body is parsed after its timer stops, to check it holds the
// expected number of rows; the parse is the client's work, not the server's latency.
// Usage: node http-latency-client.mjs <url> <runs> <expectedRows>
const [url, runsArg, rowsArg] = process.argv.slice(2);
if (!url || !runsArg || !rowsArg) {
  console.error('usage: http-latency-client.mjs <url> <runs> <expectedRows>');
  process.exit(2);
}
const times = [];
for (let i = 0; i < Number(runsArg); i++) {
  const t = performance.now();
  const r = await fetch(url);
  const body = await r.arrayBuffer();
  times.push(performance.now() - t);
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${Buffer.from(body).toString('utf8').slice(0, 200)}`);
  const rows = JSON.parse(Buffer.from(body).toString('utf8')).rows;
  if (rows.length !== Number(rowsArg)) throw new Error(`expected ${rowsArg} rows, got ${rows.length}`);
}
process.stdout.write(`${JSON.stringify(times)}\n`);
