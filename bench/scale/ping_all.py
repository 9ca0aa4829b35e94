#!/usr/bin/env python3
"""Time a Go-dialect broadcast discovery ping (or emulated0#generate) until N distinct replies arrive.

usage: ping_all.py NATS_URL N [--rounds 5] [--timeout 10] [--generate SIZE] [--collective mcollective]
Prints one JSON line: rounds of (seconds, replies), median seconds.
"""

import argparse
import asyncio
import base64
import hashlib
import json
import statistics
import time
import uuid

import nats


def request(agent, body, collective, reply_to, rid):
    req = {
        "protocol": "choria:request:1",
        "message": body,
        "envelope": {
            "requestid": rid,
            "senderid": "scale_client",
            "callerid": "choria=scale.mcollective",
            "collective": collective,
            "agent": agent,
            "ttl": 60,
            "time": int(time.time()),
            "filter": {"fact": [], "cf_class": [], "agent": ["emulated0"], "identity": [], "compound": []},
        },
    }
    sec = {
        "protocol": "choria:secure:request:1",
        "message": json.dumps(req, separators=(",", ":")),
        "signature": "insecure",
        "pubcert": "insecure",
    }
    tr = {
        "protocol": "choria:transport:1",
        "data": base64.b64encode(json.dumps(sec, separators=(",", ":")).encode()).decode(),
        "headers": {"reply-to": reply_to, "mc_sender": "scale_client"},
    }
    return json.dumps(tr, separators=(",", ":")).encode()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("n", type=int)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--generate", type=int)
    ap.add_argument("--collective", default="mcollective")
    a = ap.parse_args()
    nc = await nats.connect(a.url, max_reconnect_attempts=0, pending_size=256 * 1024 * 1024)
    md5 = hashlib.md5(b"choria=scale.mcollective").hexdigest()
    senders, done, bad = set(), asyncio.Event(), 0

    async def on_reply(msg):
        nonlocal bad
        try:
            t = json.loads(msg.data)
            s = json.loads(base64.b64decode(t["data"]))
            r = json.loads(s["message"])
            if a.generate is not None:
                body = json.loads(r["message"])
                if body["statuscode"] != 0 or len(body["data"]["message"]) != a.generate:
                    bad += 1
                    return
            elif r["message"] not in ("pong", '"pong"'):
                bad += 1
                return
            senders.add(r["envelope"]["senderid"])
            if len(senders) >= a.n:
                done.set()
        except Exception:
            bad += 1

    sub = await nc.subscribe(
        f"{a.collective}.reply.{md5}.*", cb=on_reply, pending_msgs_limit=10_000_000, pending_bytes_limit=1 << 30
    )
    await nc.flush()
    rounds = []
    for _ in range(a.rounds):
        senders.clear()
        done.clear()
        rid = uuid.uuid4().hex
        if a.generate is None:
            agent, body = "discovery", "cGluZw=="
        else:
            agent, body = (
                "emulated0",
                json.dumps({"agent": "emulated0", "action": "generate", "data": {"size": a.generate}}),
            )
        t0 = time.perf_counter()
        await nc.publish(
            f"{a.collective}.broadcast.agent.{agent}",
            request(agent, body, a.collective, f"{a.collective}.reply.{md5}.{rid}", rid),
        )
        try:
            await asyncio.wait_for(done.wait(), a.timeout)
        except asyncio.TimeoutError:
            pass
        rounds.append((round(time.perf_counter() - t0, 3), len(senders)))
        await asyncio.sleep(0.5)
    await sub.unsubscribe()
    await nc.close()
    ok = [s for s, c in rounds if c >= a.n]
    print(
        json.dumps(
            {
                "n": a.n,
                "rounds": rounds,
                "bad_replies": bad,
                "median_s": statistics.median(ok) if ok else None,
                "all_complete": len(ok) == len(rounds),
            }
        )
    )


asyncio.run(main())
