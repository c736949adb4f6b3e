"""A session of the design document's Python client against a server.

Written here (no code of evrmore-rpc is used): a small client that reads
messages the way the evrmore-rpc 1.2.1 WebSocket client does. Its message
model requires `type` (a string) and `data` on every server message; a
message without them is dropped with an ERROR log line, so this client counts
each one as a validation error.

Usage: python3 doc_session.py ws://127.0.0.1:PORT

Prints one JSON object: what was received, and the validation errors.
Exit code 0 when the session ran (the caller judges the result).
"""

import asyncio
import json
import sys

import websockets


class DocClient:
    """The document's EvrmoreWebSocketClient, reduced to what a session needs."""

    def __init__(self, uri):
        self.uri = uri
        self.ws = None
        self.queue = asyncio.Queue()
        self.validation_errors = []
        self.received = []
        self._task = None

    async def connect(self):
        self.ws = await websockets.connect(self.uri)
        self._task = asyncio.create_task(self._listen())

    async def disconnect(self):
        if self._task is not None:
            self._task.cancel()
        await self.ws.close()

    async def _send(self, obj):
        await self.ws.send(json.dumps(obj))

    async def subscribe(self, topic):
        await self._send({"action": "subscribe", "topic": topic})

    async def unsubscribe(self, topic):
        await self._send({"action": "unsubscribe", "topic": topic})

    async def command(self, name, params):
        await self._send({"command": name, "params": params})

    async def _listen(self):
        async for text in self.ws:
            try:
                message = json.loads(text)
            except ValueError as error:
                self.validation_errors.append(f"invalid JSON: {error}")
                continue
            # The 1.2.1 model: type (str) and data (any value) are required.
            problems = []
            if not isinstance(message, dict):
                problems.append("not an object")
            else:
                if not isinstance(message.get("type"), str):
                    problems.append("type: field required (a string)")
                if "data" not in message:
                    problems.append("data: field required")
            if problems:
                self.validation_errors.append(
                    f"{'; '.join(problems)}: {text[:200]}")
                continue
            self.received.append(message)
            await self.queue.put(message)

    async def receive(self, timeout=10.0):
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def receive_until(self, predicate, what, timeout=10.0):
        """Receives until a message matches; returns it and those before."""
        seen = []
        while True:
            try:
                message = await self.receive(timeout)
            except asyncio.TimeoutError:
                raise AssertionError(
                    f"no {what} within {timeout} s (saw {[m['type'] for m in seen]})")
            seen.append(message)
            if predicate(message):
                return message, seen


def is_ack(action, topic):
    return lambda m: (m["type"] == "subscription"
                      and m["data"].get("action") == action
                      and m["data"].get("topic") == topic)


def is_error(code):
    return lambda m: m["type"] == "error" and m["data"].get("code") == code


async def session(uri):
    client = DocClient(uri)
    await client.connect()
    steps = {}
    first, _ = await client.receive_until(lambda m: True, "first message")
    steps["first"] = first
    # The document's "Subscribing to Topics" example, then more.
    for topic in ("blocks", "transactions", "assets"):
        await client.subscribe(topic)
        ack, _ = await client.receive_until(is_ack("subscribe", topic),
                                            f"ack of {topic}")
        steps[f"subscribe {topic}"] = ack
    tx, _ = await client.receive_until(lambda m: m["type"] == "transaction",
                                       "a transaction")
    steps["transaction"] = tx
    await client.unsubscribe("transactions")
    ack, _ = await client.receive_until(is_ack("unsubscribe", "transactions"),
                                        "ack of unsubscribe")
    steps["unsubscribe transactions"] = ack
    await client.subscribe("nonsense")
    error, _ = await client.receive_until(is_error("unknown_topic"),
                                          "unknown_topic error")
    steps["unknown topic"] = error
    await client.command("getblockhash", [999999])
    error, _ = await client.receive_until(
        lambda m: m["type"] == "error" and isinstance(m["data"].get("code"), int),
        "node error")
    steps["node error"] = error
    await client.command("stop", [])
    error, _ = await client.receive_until(is_error("command_not_allowed"),
                                          "refused command")
    steps["refused command"] = error
    await client.command("getblockcount", [])
    result, _ = await client.receive_until(lambda m: m["type"] == "result",
                                           "a result")
    steps["result"] = result
    await client.unsubscribe("blocks")
    await client.unsubscribe("assets")
    await client.receive_until(is_ack("unsubscribe", "assets"), "ack")
    await client.subscribe("all")
    ack, _ = await client.receive_until(is_ack("subscribe", "all"), "ack of all")
    steps["subscribe all"] = ack
    _, seen = await client.receive_until(lambda m: m["type"] == "block",
                                         "a block on all")
    steps["all types"] = sorted({m["type"] for m in seen})
    await client.unsubscribe("all")
    ack, _ = await client.receive_until(is_ack("unsubscribe", "all"),
                                        "ack of unsubscribe all")
    steps["unsubscribe all"] = ack
    await client.disconnect()
    return {
        "steps": steps,
        "types": [m["type"] for m in client.received],
        "validation_errors": client.validation_errors,
    }


def main():
    uri = sys.argv[1]
    try:
        out = asyncio.run(asyncio.wait_for(session(uri), 60))
    except Exception as error:  # Reported to the caller as data.
        out = {"failure": f"{type(error).__name__}: {error}"}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
