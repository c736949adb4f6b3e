/**
 * Latency receivers of `bench/nats_bench.ts`: `deno run
 * --allow-net=127.0.0.1 --allow-read bench/_nats_latency_process.ts <url>
 * <clients> <count>` opens the clients, subscribes them to `transactions`,
 * prints `{"op":"ready"}`, and once every client has received `count`
 * transactions prints `{"op":"done","latencies":[...]}` (µs from emission,
 * read from each bench txid, to receipt) and exits. Fails after 60 s.
 *
 * @module
 */

import { nowMicros, txidMicros } from "./_nats_bench_time.ts";

if (import.meta.main) {
  const [url, clientsText, countText] = Deno.args;
  const clients = Number(clientsText);
  const count = Number(countText);
  const latencies: number[] = [];
  let finished = 0;
  const { promise: done, resolve } = Promise.withResolvers<void>();
  const guard = setTimeout(() => {
    console.error(`nats_bench latency: ${finished}/${clients} done in time`);
    Deno.exit(1);
  }, 60_000);
  const sockets = await Promise.all(
    Array.from(
      { length: clients },
      () =>
        new Promise<WebSocket>((ready, fail) => {
          const ws = new WebSocket(url!);
          let subscribed = false;
          let got = 0;
          ws.onerror = () => fail(new Error("Cannot connect"));
          ws.onopen = () =>
            ws.send(
              JSON.stringify({ action: "subscribe", topic: "transactions" }),
            );
          ws.onmessage = (event) => {
            const now = nowMicros();
            const message = JSON.parse(event.data as string) as {
              type: string;
              data: { txid?: string };
            };
            if (!subscribed) {
              subscribed = message.type === "subscription";
              if (subscribed) ready(ws);
              return;
            }
            if (message.type !== "transaction") return;
            const sent = txidMicros(message.data.txid ?? "");
            if (sent !== undefined) latencies.push(now - sent);
            if (++got === count && ++finished === clients) resolve();
          };
        }),
    ),
  );
  console.log(JSON.stringify({ op: "ready" }));
  await done;
  clearTimeout(guard);
  console.log(JSON.stringify({ op: "done", latencies }));
  for (const ws of sockets) ws.close();
  Deno.exit(0);
}
