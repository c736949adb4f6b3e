/**
 * EvrmoreRPCClient throughput against the in-process fixture node, each
 * group beside a raw `fetch` baseline measured in the same run.
 *
 * Run: `deno bench -A bench/rpc_bench.ts`
 *
 * One iteration of the `concurrency N` groups issues N calls at once, so
 * calls/sec = N × iter/s. Compare each client line with its group's
 * baseline (the "x slower" column).
 *
 * @module
 */

import { EvrmoreRPCClient } from "../lib/rpc/mod.ts";
import { startFixtureRpcServer } from "../tests/_rpc_fixture_server.ts";

const server = await startFixtureRpcServer();
const auth = `Basic ${btoa(`${server.user}:${server.password}`)}`;
const options = {
  url: server.url,
  user: server.user,
  password: server.password,
  env: false,
};
const clients = {
  c1: new EvrmoreRPCClient({ ...options, maxConcurrency: 1 }),
  c10: new EvrmoreRPCClient({ ...options, maxConcurrency: 10 }),
  c100: new EvrmoreRPCClient({ ...options, maxConcurrency: 100 }),
  byDefault: new EvrmoreRPCClient(options),
  unvalidated: new EvrmoreRPCClient({ ...options, validate: false }),
};
globalThis.addEventListener("unload", () => {
  for (const client of Object.values(clients)) client.close();
  server.close();
});

let nextId = 1;
async function rawCall(
  method: string,
  params: unknown[] = [],
): Promise<unknown> {
  const response = await fetch(server.url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: auth },
    body: JSON.stringify({ jsonrpc: "1.0", id: nextId++, method, params }),
  });
  const body = await response.json() as { result: unknown };
  return body.result;
}

function times<T>(n: number, fn: () => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, fn));
}

for (const n of [1, 10, 100]) {
  const group = `concurrency ${n}`;
  const client = n === 1 ? clients.c1 : n === 10 ? clients.c10 : clients.c100;
  Deno.bench({
    name: `raw fetch getblockcount x${n}`,
    group,
    baseline: true,
    fn: async () => {
      await times(n, () => rawCall("getblockcount"));
    },
  });
  Deno.bench({
    name: `client.getblockcount() x${n} (cap ${n})`,
    group,
    fn: async () => {
      await times(n, () => client.getblockcount());
    },
  });
  if (n > 8) {
    Deno.bench({
      name: `client.getblockcount() x${n} (default cap 8)`,
      group,
      fn: async () => {
        await times(n, () => clients.byDefault.getblockcount());
      },
    });
  }
}

const batch = Array.from({ length: 1000 }, () => ({
  method: "getblockcount",
  params: [] as unknown[],
}));
Deno.bench({
  name: "raw fetch batch of 1000",
  group: "batch of 1000",
  baseline: true,
  fn: async () => {
    const response = await fetch(server.url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: auth },
      body: JSON.stringify(
        batch.map((c, i) => ({ jsonrpc: "1.0", id: i, ...c })),
      ),
    });
    await response.json();
  },
});
Deno.bench({
  name: "client.batch() of 1000",
  group: "batch of 1000",
  fn: async () => {
    await clients.c1.batch(batch);
  },
});

// Cost of validating a large answer (getblock verbosity 2 of the issue block).
const blockHash = await rawCall("getblockhash", [162]) as string;
Deno.bench({
  name: "raw fetch getblock 2",
  group: "getblock verbosity 2",
  baseline: true,
  fn: async () => {
    await rawCall("getblock", [blockHash, 2]);
  },
});
Deno.bench({
  name: "client.getblock(hash, 2) validated",
  group: "getblock verbosity 2",
  fn: async () => {
    await clients.c1.getblock(blockHash, 2);
  },
});
Deno.bench({
  name: "client.getblock(hash, 2) validate: false",
  group: "getblock verbosity 2",
  fn: async () => {
    await clients.unvalidated.getblock(blockHash, 2);
  },
});
