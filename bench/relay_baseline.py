"""The baseline for bench/messaging.py: a bare websocket relay, nothing else.

It speaks just enough of CareCircle's protocol for the same benchmark clients to drive it: the
first frame `{"type": "auth", "token": <user id>, "conversations": [...]}` joins rooms (no
token check) and is answered `ready`; a `send` is answered with an `ack` to the sender and a
`message.created` frame of the same shape as the real server's, handed to every other socket in
the room with `websockets.broadcast`. No authentication, no storage, no encryption, no audit:
what is left is the cost of moving frames, the floor any real server sits above.

    python bench/relay_baseline.py --port 8765
"""

import argparse
import asyncio
import contextlib
import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime

import websockets
from websockets.asyncio.server import ServerConnection, broadcast, serve

rooms: dict[str, set[ServerConnection]] = defaultdict(set)
seqs: dict[str, int] = defaultdict(int)


def _message(frame: dict, sender_id: str, seq: int) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "conversation_id": frame["conversation_id"],
        "seq": seq,
        "change": 0,
        "client_id": frame["client_id"],
        "sender_id": sender_id,
        "sender_name": "Relay Sender",
        "kind": "text",
        "state": "active",
        "body": frame["body"],
        "attachment": None,
        "urgent": False,
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "edited_at": None,
        "retracted_at": None,
    }


async def handle(ws: ServerConnection) -> None:
    hello = json.loads(await ws.recv())
    user_id: str = hello["token"]
    joined: list[str] = hello.get("conversations", [])
    for room in joined:
        rooms[room].add(ws)
    try:
        await ws.send(json.dumps({"type": "ready", "user_id": user_id, "conversations": joined}))
        async for text in ws:
            frame = json.loads(text)
            if frame.get("type") != "send":
                continue
            room = frame["conversation_id"]
            seqs[room] += 1
            message = _message(frame, user_id, seqs[room])
            created = json.dumps({"type": "message.created", "message": message})
            broadcast([peer for peer in rooms[room] if peer is not ws], created)
            ack = {"type": "ack", "client_id": frame["client_id"], "message": message}
            await ws.send(json.dumps({**ack, "duplicate": False}))
    except websockets.ConnectionClosed:
        pass
    finally:
        for room in joined:
            rooms[room].discard(ws)


async def main(port: int) -> None:
    async with serve(handle, "127.0.0.1", port, compression=None, ping_interval=None, backlog=2048):
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # the real server uses uvloop when it is installed; so does the baseline
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(main(port))
