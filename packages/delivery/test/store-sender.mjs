// Child of store-sigkill.test.ts: sends a burst of keyed webhook deliveries through a DeliveryService
// whose ledger is a SQLite store, printing one JSON line per acknowledged send. Killed with SIGKILL
// mid-burst by the parent, then run again on the same database.
// argv: <delivery dist entry> <store dist entry> <db path> <webhook url> <count> <concurrency>
const [deliveryEntry, storeEntry, dbPath, url, count, concurrency] = process.argv.slice(2);
const { DeliveryService, WebhookSink } = await import(deliveryEntry);
const { openSqliteStore } = await import(storeEntry);

const resolution = Object.freeze({
  routeId: 'route-000000',
  recipient: url,
  channel: 'notification',
  sink: 'webhook',
  targetModule: 'delivery',
  retryMax: 0,
  backoffMs: 0,
  rateLimitPerMinute: 1_000_000,
});
const store = await openSqliteStore({ path: dbPath });
const delivery = await DeliveryService.open({
  sinks: { webhook: new WebhookSink({ timeoutMs: 10_000 }) },
  trusted: { get: (id) => (id === resolution.routeId ? resolution : undefined) },
  store,
});
process.stdout.write('ready\n');
let next = 0;
const total = Number(count);
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < total) {
      const key = `k-${next++}`;
      const record = await delivery.send({ resolution, payload: { key }, idempotencyKey: key });
      const line = { key, delivery_id: record.deliveryId, status: record.status, error: record.attempts[0]?.error };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
  }),
);
await delivery.close();
await store.close();
process.stdout.write('done\n');
