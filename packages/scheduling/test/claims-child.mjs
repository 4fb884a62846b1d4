// Child of store-claims.test.ts: dispatches minutely ticks 1..<count> through a Dispatcher whose
// claims live in a SQLite store; its hook prints `inject <claim_key>` for every injection.
// argv: <scheduling dist entry> <store dist entry> <db path> <count>
const [schedulingEntry, storeEntry, dbPath, count] = process.argv.slice(2);
const { Dispatcher, StoreClaimStore } = await import(schedulingEntry);
const { openSqliteStore } = await import(storeEntry);
const store = await openSqliteStore({ path: dbPath });
const dispatcher = new Dispatcher({
  claimStore: new StoreClaimStore(store),
  hook: async (args) => {
    process.stdout.write(`inject ${args.claim_key}\n`);
    await new Promise((resolve) => setTimeout(resolve, 2));
    return null;
  },
});
const schedules = [{ scheduleId: 'tick', interval: '*/1m', timezone: 'UTC', catchUp: false }];
for (let i = 1; i <= Number(count); i++) await dispatcher.dispatchTick(schedules, i * 60_000);
await dispatcher.close();
await store.close();
process.stdout.write('done\n');
