import assert from "node:assert/strict";
import {
  ConnectionError,
  DecodeError,
  EvrmoreError,
  RpcError,
  TimeoutError,
} from "../mod.ts";

Deno.test("RpcError keeps code, method, status and cause", () => {
  const cause = new Error("inner");
  const error = new RpcError("Cannot call getblock: Block not found", {
    code: -5,
    method: "getblock",
    status: 500,
    cause,
  });
  assert.equal(error.name, "RpcError");
  assert.equal(error.code, -5);
  assert.equal(error.method, "getblock");
  assert.equal(error.status, 500);
  assert.equal(error.cause, cause);
  assert.ok(error instanceof EvrmoreError);
});

Deno.test("TimeoutError is a ConnectionError", () => {
  const error = new TimeoutError("Cannot call x: timed out");
  assert.ok(error instanceof ConnectionError);
  assert.equal(error.name, "TimeoutError");
});

Deno.test("DecodeError carries the offset", () => {
  const error = new DecodeError("Cannot decode: truncated", { offset: 7 });
  assert.equal(error.offset, 7);
  assert.equal(error.name, "DecodeError");
});
