#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/, replacing what is there.

fuzz_protocol, fuzz_resolve_target and fuzz_redis_url read their input as it is, so their seeds
are plain text.
fuzz_hub and fuzz_origin read it through libFuzzer's FuzzedDataProvider: strings from the front,
choices (integers, booleans) from the back. The classes below mirror those targets' reads in the
same order, so a hub scenario reads like the story it tells. If a target changes how it reads
input, change this too and rerun it; `SIGNALD_FUZZ_TRACE=1 build-fuzz/fuzz/fuzz_hub FILE` shows
what a hub seed does.
"""

import pathlib

ID_CYCLE = 10
ROOM = {"r0": 0, "r1": 1, "r2": 2, "r0-escaped": 3, "ete": 4, "ete-escaped": 5, "party": 6,
        "party-escaped": 7, "longest": 8, "too-long": 9, "empty": 10, "control": 11, "del": 12,
        "r0-space": 13, "null": 14, "number": 15}
NAME = {"alice": 0, "bob": 1, "empty": 2, "null": 3, "e-escaped": 4, "quote-backslash": 5,
        "longest": 6, "too-long": 7, "newline": 8, "array": 9}
TYPE = {"offer": 0, "answer": 1, "ice-candidate": 2, "hangup": 3, "offer-escaped": 4,
        "Offer": 5, "empty": 6, "number": 7}
DATA = {"null": 0, "sdp": 1, "candidate": 2, "mixed": 3, "huge": 4, "huge-nested": 5,
        "surrogates": 6, "object": 7, "array": 8, "euro": 9}
TOKEN = {None: 0, "mod-a": 1, "mod-b": 2, "member-c": 3, "member-d": 4, "plain": 5, "bad": 6,
         "number": 7}
KICK_BAN = {0: 0, 1: 1, 5: 2}
OP = {"connect": 0, "disconnect": 2, "join": 3, "leave": 5, "signal": 6, "update": 7, "raw": 8,
      "flood": 9, "clock": 10, "all": 11}
STATE = {"{}": 0, "muted": 1, "hand": 2, "huge-number": 3, "null": 4, "array": 5, "string": 6}


def numbered_id(n):
    return str(n).rjust(10, "a")


class ProviderInput:
    """Bytes that FuzzedDataProvider hands back in the order they were written here."""

    def __init__(self):
        self.front = bytearray()  # strings, read front to back
        self.back = bytearray()   # choices, in the order they are read (from the end)

    def integer(self, low, high, value):
        assert low <= value <= high
        span, offset, taken = high - low, 0, []
        while (span >> offset) > 0 and offset < 64:
            taken.append(0)
            offset += 8
        # The first byte read ends up the most significant.
        x = value - low
        for i in range(len(taken)):
            taken[i] = (x >> (8 * (len(taken) - 1 - i))) & 0xFF
        self.back += bytes(taken)

    def boolean(self, value):
        self.integer(0, 255, 1 if value else 0)

    def string(self, text):
        data = text.encode() if isinstance(text, str) else text
        self.front += data.replace(b"\\", b"\\\\") + b"\\;"

    def data(self):
        return bytes(self.front) + bytes(reversed(self.back))


class Scenario(ProviderInput):
    """One fuzz_hub input, written as the steps fuzz_hub.cpp will take."""

    def __init__(self, rate_limited=False, auth=False, kick_ban=5):
        super().__init__()
        self.next_id = 0
        self.connected = []  # sorted, as std::set<ClientId> iterates
        self.auth = auth
        # The mode: bit 0 rate limits, bit 2 room tokens (resume, bit 1, has seeds of its own).
        self.integer(0, 255, (1 if rate_limited else 0) | (4 if auth else 0))
        if auth:
            self.integer(0, 2, KICK_BAN[kick_ban])

    # Harness reads.
    def op(self, name):
        self.integer(0, 11, OP[name])

    def client(self, who):
        """who: index into the connected clients, or an id number when nobody is connected."""
        if not self.connected:
            self.integer(0, ID_CYCLE, who)
        else:
            self.integer(0, len(self.connected) - 1, who)

    def any_id(self, n):
        self.integer(0, ID_CYCLE, n)

    def member(self, escaped=False):
        self.integer(0, 7, 0 if escaped else 1)

    def build(self, members, extra=False):
        for i in range(members, 1, -1):
            self.integer(0, i - 1, i - 1)  # keep the order
        self.boolean(extra)

    # Steps.
    def connect(self):
        self.op("connect")
        while numbered_id(self.next_id % ID_CYCLE) in self.connected:
            self.next_id += 1
        self.connected = sorted(self.connected + [numbered_id(self.next_id % ID_CYCLE)])
        self.next_id += 1
        return self

    def disconnect(self, who):
        self.op("disconnect")
        self.boolean(True)
        self.client(who)
        del self.connected[who]
        return self

    def join_text(self, room, name=None, escaped=False, extra=False, token=None):
        self.member(escaped)
        self.integer(0, 15, ROOM[room])
        self.member(escaped)
        members = 2
        if self.auth:
            self.integer(0, 7, TOKEN[token])
            if token is not None:
                self.member(escaped)
                members += 1
        if name is None:
            self.integer(0, 3, 0)
            return self.build(members, extra)
        if name in NAME:
            self.integer(0, 3, 2)
            self.integer(0, 9, NAME[name])
        else:
            self.integer(0, 3, 1)
            self.string(name)
        self.member(escaped)
        self.build(members + 1, extra)

    def kick(self, who, room, target):
        """target: an id number, or "number" for a clientId that is not a string."""
        self.op("leave")
        self.client(who)
        self.boolean(True)  # a moderation step, not a leave
        self.boolean(True)  # kick
        self.member()
        self.integer(0, 15, ROOM[room])
        self.member()
        if target == "number":
            self.integer(0, 7, 0)
        else:
            self.integer(0, 7, 1)
            self.any_id(target)
        self.member()
        self.build(3)
        return self

    def lock(self, who, room, locked):
        """locked: True, False or "yes" (not a boolean)."""
        self.op("leave")
        self.client(who)
        self.boolean(True)
        self.boolean(False)  # lock
        self.member()
        self.integer(0, 15, ROOM[room])
        self.member()
        self.integer(0, 3, {True: 0, False: 1, "yes": 3}[locked])
        self.member()
        self.build(3)
        return self

    def leave_text(self, room):
        self.member()
        self.integer(0, 15, ROOM[room])
        self.member()
        self.build(2)

    def signal_text(self, room, kind, to=None, data=None, escaped=False):
        self.member(escaped)
        self.integer(0, 15, ROOM[room])
        self.member(escaped)
        self.integer(0, 7, TYPE[kind])
        self.member(escaped)
        members = 3
        if to is None:
            self.integer(0, 5, 0)
        elif to == "null":
            self.integer(0, 5, 1)
            self.member()
            members += 1
        else:
            self.integer(0, 5, 2)
            self.any_id(to)
            self.member(escaped)
            members += 1
        if data is None:
            self.integer(0, 4, 0)
        else:
            members += 1
            if isinstance(data, int):
                self.integer(0, 4, 2)
                self.integer(1, 200, data)
            elif data in DATA:
                self.integer(0, 4, 3)
                self.integer(0, 9, DATA[data])
            else:
                self.integer(0, 4, 1)
                self.string(data)
            self.member(escaped)
        self.build(members)

    def join_with(self, who, room, token, name=None):
        self.op("join")
        self.client(who)
        self.join_text(room, name, token=token)
        return self

    def join(self, who, room, name=None, **kw):
        self.op("join")
        self.client(who)
        self.join_text(room, name, **kw)
        return self

    def leave(self, who, room):
        self.op("leave")
        self.client(who)
        if self.auth:
            self.boolean(False)  # a leave, not a moderation step
        self.leave_text(room)
        return self

    def signal(self, who, room, kind, to=None, data=None, **kw):
        self.op("signal")
        self.client(who)
        self.signal_text(room, kind, to, data, **kw)
        return self

    def update(self, who, room, state):
        """state: a name in STATE, or a number of bytes (1000-1030) for a state of that size."""
        self.op("update")
        self.client(who)
        self.integer(0, 3, 0)  # an update, not a signal
        self.member()
        self.integer(0, 15, ROOM[room])
        self.member()
        if isinstance(state, int):
            self.integer(0, 3, 0)
            self.integer(1000, 1030, state)
        else:
            self.integer(0, 3, 2)
            self.integer(0, 6, STATE[state])
        self.member()
        self.build(3)
        return self

    def raw(self, who, text):
        self.op("raw")
        self.client(who)
        self.string(text)
        return self

    def flood(self, who, count, room="r0", kind="ice-candidate"):
        self.op("flood")
        self.client(who)
        self.signal_text(room, kind, data="candidate")
        self.integer(1, 64, count)
        return self

    def clock(self, ms):
        self.op("clock")
        self.integer(0, 5000, ms)
        return self

    def everyone_joins(self, room):
        self.op("all")
        self.integer(0, 2, 0)
        for _ in self.connected:
            self.join_text(room)
        return self


def id_of(n):
    """The id number the n-th connect hands out, in a scenario without reuse."""
    return n % ID_CYCLE


def hub_seeds():
    s = {}
    s["two-peers-offer-answer"] = (
        Scenario().connect().connect().join(0, "r0", "alice").join(1, "r0", "bob")
        .signal(0, "r0", "offer", to=id_of(1), data="sdp")
        .signal(1, "r0", "answer", to=id_of(0), data="sdp")
        .signal(0, "r0", "ice-candidate", data="candidate")
        .signal(1, "r0", "hangup").leave(0, "r0").disconnect(1))
    s["room-full-then-slot-frees"] = (
        Scenario().connect().connect().connect().connect().connect().everyone_joins("r1")
        .disconnect(2).join(3, "r1", "late"))
    s["switch-rooms"] = (
        Scenario().connect().connect().connect().join(0, "r0").join(1, "r0").join(2, "r1")
        .join(0, "r1", "alice").join(0, "r1").join(1, "r2").leave(1, "r0").leave(1, "r2"))
    s["escaped-room-and-keys"] = (
        Scenario().connect().connect().join(0, "ete", "e-escaped", escaped=True)
        .join(1, "ete-escaped", "quote-backslash", extra=True)
        .join(0, "party").join(1, "party-escaped")
        .signal(1, "party", "offer-escaped", to=id_of(0), data="surrogates", escaped=True))
    s["bad-fields"] = (
        Scenario().connect().join(0, "too-long").join(0, "empty").join(0, "control")
        .join(0, "del").join(0, "null").join(0, "number").join(0, "r0", "too-long")
        .join(0, "r0", "newline").join(0, "r0", "array").join(0, "longest", "longest")
        .signal(0, "longest", "Offer").signal(0, "longest", "number").signal(0, "r0", "offer")
        .signal(0, "longest", "offer", to="null").signal(0, "longest", "offer", to=id_of(0))
        .signal(0, "longest", "offer", to=ID_CYCLE).leave(0, "r0"))
    s["nested-and-huge-data"] = (
        Scenario().connect().connect().connect().everyone_joins("r2")
        .signal(0, "r2", "offer", data=200).signal(1, "r2", "answer", data="huge")
        .signal(2, "r2", "offer", to=id_of(0), data="huge-nested")
        .signal(0, "r2", "ice-candidate", data="mixed")
        .signal(1, "r2", "offer", data='{"a":[1,{"b":"\\u00e9"}],"c":-0.5e-3}')
        .signal(2, "r2", "offer", data="[1,2"))
    s["raw-frames"] = (
        Scenario().connect().connect()
        .raw(0, '{"action":"join","roomId":"r0","name":"raw"}')
        .raw(1, '{"action":"join","roomId":"r0","roomId":"r1"}')
        .raw(1, '{"action":"join","roomId":"r0"}')
        .raw(0, '{"action":"signal","roomId":"r0","type":"offer","data":{"sdp":"x"},"to":"' +
             numbered_id(1) + '"}')
        .raw(0, "not json").raw(0, "[]").raw(0, '{"action":"dance"}').raw(0, '{"action":1}')
        .raw(1, '{"action":"leave","roomId":"r0"}'))
    s["flood-until-closed"] = (
        Scenario(rate_limited=True).connect().connect().join(0, "r0").join(1, "r0")
        .flood(0, 12).signal(1, "r0", "offer").clock(3000).flood(1, 20)
        .disconnect(0).clock(5000).signal(0, "r0", "hangup"))
    # Ten short visits wrap the id cycle: Hub skips the id still in use and hands out departed ones.
    reused = Scenario().connect().join(0, "r0", "keeper")
    for _ in range(ID_CYCLE):
        reused.connect().join(1, "r0").signal(1, "r0", "offer", to=0).disconnect(1)
    s["ids-reused"] = reused
    # States (docs/protocol.md 5.7): updates replace each other, reach the others, go with their
    # member; too large, not objects and outside the room are refused.
    s["states-updated-and-carried"] = (
        Scenario().connect().connect().connect().join(0, "r0").update(0, "r0", "muted")
        .join(1, "r0").update(1, "r0", "{}").update(0, "r0", "hand").update(0, "r0", 1024)
        .update(0, "r0", 1025).update(1, "r0", "null").update(1, "r0", "array")
        .update(2, "r0", "muted").update(0, "r0", "huge-number").join(2, "r0")
        .join(0, "r1").join(0, "r0").update(1, "r1", "string").leave(1, "r0"))
    # Room tokens (docs/protocol.md 7.4): a moderator locks, kicks (ban 5 s), unlocks; refusals
    # of every kind on the way.
    s["moderator-kicks-and-locks"] = (
        Scenario(auth=True).connect().connect().connect().connect()
        .join_with(0, "r0", "mod-a", "alice").join_with(1, "r0", "member-c")
        .join_with(2, "r0", "plain").join_with(3, "r0", "bad").join_with(3, "r0", "number")
        .lock(1, "r0", True).kick(1, "r0", id_of(0)).kick(3, "r0", id_of(1))
        .lock(0, "r0", True).join_with(3, "r0", "member-d").join_with(3, "r0", "mod-b")
        .kick(0, "r0", id_of(1)).kick(0, "r0", id_of(0)).kick(0, "r0", "number")
        .lock(0, "r0", "yes").join_with(1, "r0", "member-c").join_with(1, "r1", "member-c")
        .kick(0, "r0", id_of(2)).join_with(2, "r0", "plain").clock(5000)
        .join_with(1, "r0", "member-c").lock(0, "r0", False).join_with(1, "r0", "member-c")
        .leave(0, "r0").leave(3, "r0").leave(1, "r0").join_with(2, "r0", "plain"))
    s["kick-without-ban-and-empty-lock"] = (
        Scenario(auth=True, kick_ban=0).connect().connect()
        .join_with(0, "r2", "mod-b").join_with(1, "r2", None).kick(0, "r2", id_of(1))
        .join_with(1, "r2", None).lock(0, "r2", True).leave(1, "r2").leave(0, "r2")
        .join_with(1, "r2", "member-d"))
    return s


def host_policy_seeds():
    """fuzz_host_policy reads: entry count, entries, a certificate name or not, loopback or not,
    Host, then a port."""
    cases = {
        "loopback-foreign-host": ([], None, True, "evil.example:8787", 8787),
        "loopback-own-names": ([], None, True, "LOCALHOST.:9", 9),
        "allowed-name-with-port": (["call.example.org"], None, False, "Call.Example.Org:443", 443),
        "wildcard-one-label": (["*.example.org"], None, False, "a.b.example.org", 80),
        "certificate-name": ([], "signald.test", True, "signald.test:8443", 8443),
        "ipv6-allowed": (["[2001:db8::1]"], None, False, "[2001:DB8:0::1]:5", 5),
        "bad-entry": (["call.example.org:443", "*.org"], None, False, "x", 1),
        "public-unchecked": ([], "cert.example", False, "anything.example", 0),
        "no-host": (["a.example"], None, True, "", 0),
    }
    seeds = {}
    for name, (entries, cert, loopback, host, port) in cases.items():
        seed = ProviderInput()
        seed.integer(0, 3, len(entries))
        for entry in entries:
            seed.string(entry)
        seed.boolean(cert is not None)
        if cert is not None:
            seed.string(cert)
        seed.boolean(loopback)
        seed.string(host)
        seed.integer(0, 65535, port)
        seeds[name] = seed.data()
    return seeds


def origin_seeds():
    """fuzz_origin reads: entry count, entries, Origin, Host, then a port (number and digits)."""
    cases = {
        "no-list-same-host": ([], "https://example.org", "example.org", 0, ""),
        "no-list-other-host": ([], "https://evil.example", "example.org:443", 8080, ""),
        "listed-origin": (["https://app.example.org", "http://host:8080"], "http://HOST:8080",
                          "signal.example.org", 443, "0"),
        "default-port-dropped": (["https://example.org:443"], "https://example.org", "x", 1, ""),
        "star": (["*"], "null", "", 65535, "99999"),
        "bad-entry": (["example.org", "https://ok.example"], "https://ok.example", "h", 5, ""),
        "ipv6": (["http://[2001:db8::1]:8000"], "http://[2001:DB8::1]:8000", "[::1]:80", 80, ""),
        "loopback-names": ([], "http://sub.localhost:3000", "localhost:3000", 3000, "00"),
        "path-and-userinfo": (["https://a.example/path"], "https://user@a.example",
                              "a.example", 7, ""),
        "empty-port": (["http://h:"], "http://h:", "h:", 0, "1"),
        # Host without a port means the scheme's default, never the Origin's port.
        "host-default-port": ([], "http://example.org:8080", "example.org", 80, ""),
    }
    seeds = {}
    for name, (entries, origin, host, port, digits) in cases.items():
        seed = ProviderInput()
        seed.integer(0, 3, len(entries))
        for entry in entries:
            seed.string(entry)
        seed.string(origin)
        seed.string(host)
        seed.integer(0, 2**32 - 1, port)
        seed.string(digits)
        seeds[name] = seed.data()
    return seeds


# JSON escapes are written in raw strings, so the files hold them as a client would send them.
PROTOCOL_SEEDS = {
    "join": r'{"action":"join","roomId":"r0"}',
    "join-name": r'{"action":"join","roomId":"team standup","name":"Alice"}',
    "join-name-null": r'{"action":"join","roomId":"r0","name":null}',
    "join-name-empty": r'{"action":"join","roomId":"r0","name":""}',
    "join-escaped-unicode": r'{"action":"join","roomId":"\u00e9t\u00e9 \ud83c\udf89","name":"Zo\u00eb"}',
    "join-raw-utf8": '{"action":"join","roomId":"caf\u00e9 \U0001F389","name":"\u2603"}',
    "join-escaped-keys": r'{"\u0061ction":"join","room\u0049d":"r\/1","name":"a\"b\\c"}',
    "join-whitespace": ' \t\r\n{ "action" : "join" ,\n "roomId" : "r0" } \n',
    "join-duplicate-keys": r'{"action":"leave","action":"join","roomId":1,"roomId":"r0"}',
    "join-bad-room": r'{"action":"join","roomId":"a\u0000b"}',
    "join-bad-name": r'{"action":"join","roomId":"r0","name":7}',
    "leave": r'{"action":"leave","roomId":"r0"}',
    "signal-offer": r'{"action":"signal","roomId":"r0","type":"offer","to":"aaaaaaaaa1",'
                    r'"data":{"type":"offer","sdp":"v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\n"}}',
    "signal-candidate": r'{"action":"signal","roomId":"r0","type":"ice-candidate","data":'
                        r'{"candidate":"candidate:1 1 udp 2122260223 10.0.0.1 54321 typ host",'
                        r'"sdpMid":"0","sdpMLineIndex":0,"usernameFragment":null}}',
    "signal-hangup": r'{"action":"signal","roomId":"r0","type":"hangup"}',
    "signal-nested": r'{"action":"signal","roomId":"r0","type":"answer","data":'
                     r'[[[[{"a":[{},[],"",0,-0.5e-3,1E+2,true,false,null]}]]]]}',
    "signal-huge-numbers": r'{"action":"signal","roomId":"r0","type":"offer",'
                           r'"data":[1e400,-1E+999,123456789012345678901234567890]}',
    "signal-to-null": r'{"action":"signal","roomId":"r0","type":"offer","to":null}',
    "signal-bad-type": r'{"action":"signal","roomId":"r0","type":"Offer"}',
    "signal-escaped-type": r'{"action":"signal","roomId":"r0","type":"ice\u002dcandidate"}',
    "unknown-action": r'{"action":"dance","roomId":"r0"}',
    "action-not-string": r'{"action":["join"]}',
    "not-object": r'[{"action":"join","roomId":"r0"}]',
    "string": r'"join"',
    "number": r'-12.5e+3',
    "literals": r'[true,false,null]',
    "trailing-comma": r'{"action":"join","roomId":"r0",}',
    "unterminated": r'{"action":"join","roomId":"r0',
    "lone-surrogate": r'{"action":"join","roomId":"\ud800"}',
    "bad-numbers": r'[01,1.,.5,1e,-,+1]',
}

# Bytes no text editor keeps: a byte order mark, NUL, invalid UTF-8, raw control characters.
PROTOCOL_BINARY_SEEDS = {
    "bom": b'\xef\xbb\xbf{"action":"join","roomId":"r0"}',
    "nul": b'{"action":"join","roomId":"r0"}\x00',
    "bad-utf8": b'{"action":"join","roomId":"\xc0\x80","name":"\xed\xa0\x80"}',
    "raw-control": b'{"action":"join","roomId":"a\tb\x01"}',
}

RESOLVE_SEEDS = {
    "root": "/",
    "index": "/index.html",
    "query": "/a/b.js?x=1&y=/../z",
    "fragment": "/app.css#top",
    "sub-directory": "/sub/",
    "double-slashes": "//a//b///c.txt",
    "dot-dot-escaped": "/%2e%2e/%2E%2E/etc/passwd",
    "dot-dot-slash-escaped": "/..%2f..%2fetc%2fpasswd",
    "dot-segment": "/a/./b.js",
    "dotfile": "/.git/config",
    "well-known": "/.well-known/security.txt",
    "absolute-form": "http://example.org/js/app.js",
    "absolute-form-upper": "HTTPS://Example.org",
    "asterisk": "*",
    "authority-form": "example.org:443",
    "nul-escaped": "/a%00b.html",
    "backslash": r"/a\..\b",
    "backslash-escaped": "/a%5c..%5cb",
    "bad-escapes": "/%zz/%4",
    "trailing-percent": "/a%",
    "utf8": "/caf%C3%A9/%E2%82%AC.html",
    "escaped-query": "/a%3Fb%23c%25d",
}


def client_frame(payload, opcode=1, fin=True, key=b"\x37\xfa\x21\x3d", rsv=0):
    """A masked client frame, as fuzz_ws_frames reads them."""
    payload = payload.encode() if isinstance(payload, str) else payload
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n <= 0xFFFF:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def ws_frames_seeds():
    join = '{"action":"join","roomId":"r"}'
    return {
        "join": client_frame(join),
        "two-messages": client_frame(join) + client_frame('{"action":"leave","roomId":"r"}'),
        "fragmented": client_frame(join[:5], fin=False) + client_frame("hi", opcode=9)
        + client_frame(join[5:12], opcode=0, fin=False) + client_frame(join[12:], opcode=0),
        "ping-pong-close": client_frame("p", opcode=9) + client_frame("", opcode=10)
        + client_frame(b"\x03\xe8bye", opcode=8) + client_frame(join),
        "long-16": client_frame("x" * 300),
        "utf8-split": client_frame("caf\xc3".encode("latin-1"), fin=False)
        + client_frame(b"\xa9", opcode=0),
        "zero-key": client_frame(join, key=b"\0\0\0\0"),
        "binary": client_frame(b"\x01\x02", opcode=2),
        "close-bad-code": client_frame(b"\x03\xed", opcode=8),
        "unmasked": bytes([0x81, 0x02]) + b"hi",
    }


class ConnectionScript(ProviderInput):
    """One fuzz_ws_connection input, written as the steps fuzz_ws_connection.cpp will take."""

    OPCODES = [1, 8, 9, 10, 2, 0]  # text, close, ping, pong, binary, continuation

    def __init__(self, tls=False, small_queue=True, reaction=0):
        super().__init__()
        self.peer = 0  # bytes the peer sent that were not read yet
        self.boolean(tls)
        self.boolean(small_queue)
        self.integer(0, 2, reaction)  # the hub's answer to text: none, echo, close 1008
        self.integer(0, 15, 1)        # not closed at attach

    def step(self, n):
        self.integer(0, 13, n)

    def frame(self, opcode, payload=b"", fin=True, code=None):
        self.step(0)
        self.integer(0, 5, self.OPCODES.index(opcode))
        self.integer(0, 7, 1 if fin else 0)
        if opcode == 8:
            self.boolean(code is not None)
        if code is not None:
            self.integer(0, 0xFFFF, code)
            payload = code.to_bytes(2, "big")
        else:
            self.string(payload)
        payload = payload.encode() if isinstance(payload, str) else payload
        self.peer += len(client_frame(payload, opcode, fin))
        return self

    def read(self, count=None):
        count = self.peer if count is None else count
        self.step(3)
        self.integer(0, self.peer, count)
        self.peer -= count
        return self

    def send(self, text):
        self.step(4)
        self.string(text)
        return self

    def big_send(self, size):
        self.step(5)
        self.integer(0, 70 * 1024, size)
        return self

    def close(self, going_away=True):
        self.step(6)
        self.boolean(going_away)
        return self

    def tick(self, ms):
        self.step(7)
        self.integer(0, 45000, ms)
        return self

    def run(self):
        self.step(8)
        return self

    def room(self, count):
        self.step(9)
        self.integer(0, 100000, count)
        return self

    def end_of_input(self, clean=True):
        self.step(10)
        self.integer(0, 3, 0)
        self.boolean(clean)
        return self

    def deadline(self):
        self.step(11)
        return self

    def tls_shutdown(self):
        self.step(12)
        return self


def ws_connection_seeds():
    S = ConnectionScript
    return {
        "peer-close": S().frame(1, "hi").frame(8, code=1001).read().run().end_of_input(),
        "peer-close-split": S().frame(1, "hi").frame(8, code=1000).read(3).read(5).read()
        .run().end_of_input(),
        "server-close": S(reaction=1).send("x").run().close(False).run().frame(1, "late")
        .frame(8, code=1008).read().end_of_input(),
        "slow-consumer": S().room(0).send("a" * 600).run().send("b" * 600).run().room(100000)
        .frame(8, code=1008).read().deadline(),
        "idle": S().tick(15000).run().tick(40000).end_of_input(False),
        "ping-pong": S().tick(15000).run().frame(10).frame(9, "p").read().run().tick(15000).run(),
        "tls-close": S(tls=True).send("a").run().frame(8).read().run().room(10).room(10)
        .tls_shutdown(),
        "binary": S(reaction=2).frame(1, "t").frame(2, "b").read().run().deadline(),
        "big-send": S(small_queue=False).big_send(70000).room(0).big_send(70000).run()
        .room(100000).close().run().deadline(),
    }

# Values of --redis: each accepted form, and refusals the parser names (TLS, a user name, port 0,
# a bad escape, trailing text). No seed holds a real secret.
REDIS_URL_SEEDS = {
    "host": "redis://localhost",
    "host-port-db": "redis://10.0.0.5:6380/3",
    "password": "redis://:s3cr%2Ft%40x@redis.internal:6379/0",
    "password-raw-at": "redis://:p@ss@127.0.0.1",
    "ipv6": "redis://[::1]:6379",
    "ipv6-mapped": "redis://:pw@[::ffff:192.0.2.1]/15",
    "unix": "unix:///run/redis/redis-server.sock",
    "unix-db": "unix:///tmp/signald-cluster.abc/redis.sock?db=2147483647",
    "tls": "rediss://redis.example.org:6380",
    "user-name": "redis://default:pw@localhost",
    "port-zero": "redis://localhost:0",
    "bad-escape": "redis://:a%zz@localhost",
    "trailing": "redis://localhost:6379/1/x?y#z",
    "unix-relative": "unix://redis.sock",
}


def bus_message(kind, client_id=b"", number=0, text=b""):
    """One message of a batch between nodes (src/cluster/bus_message.cpp)."""
    return (bytes([kind, len(client_id)]) + client_id + number.to_bytes(8, "big") +
            len(text).to_bytes(4, "big") + text)


BUS_MESSAGE_SEEDS = {
    "empty": b"",
    "attach": bus_message(1, b"4f9kq2m7xa"),
    "text": bus_message(2, b"4f9kq2m7xa", 0, b'{"action":"join","roomId":"standup"}'),
    "detach-lost": bus_message(3, b"4f9kq2m7xa", 1),
    "acked": bus_message(4, b"4f9kq2m7xa", 17),
    "roster": bus_message(5, b"", 0, b"4f9kq2m7xa,h83npz0c5t"),
    "paused": bus_message(6),
    "send-close-abort": bus_message(16, b"h83npz0c5t", 0, b'{"action":"left","roomId":"r"}') +
    bus_message(17, b"h83npz0c5t", 1008) + bus_message(18, b"h83npz0c5t", 4001, b"resumed elsewhere"),
    "rebind-pause": bus_message(19, b"aaaaaaaaa1", 0, b"aaaaaaaaa0") + bus_message(20),
    "truncated": bus_message(2, b"4f9kq2m7xa", 0, b"{}")[:-1],
    "unknown-kind": bus_message(8, b"x"),
}


def room_token_seeds():
    """Tokens for fuzz_room_token's secrets (see that file): valid ones and near misses."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(raw):
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def token(header, payload, key):
        signing = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
        return signing + "." + b64(hmac.new(key.encode(), signing.encode(), hashlib.sha256).digest())

    bare = "fuzz-bare-secret-0123456789abcdef"
    k1 = "fuzz-kid-one-secret-0123456789abcdef"
    now = 1_800_000_000
    hs = {"alg": "HS256", "typ": "JWT"}
    return {
        "bare": token(hs, {"room": "r", "exp": now + 60}, bare),
        "kid-moderator": token({**hs, "kid": "k1"},
                               {"room": "*", "exp": now, "nbf": now - 5, "name": "Ada",
                                "sub": "u1", "role": "moderator"}, k1),
        "expired": token(hs, {"room": "r", "exp": now - 31}, bare),
        "wrong-room": token(hs, {"room": "s", "exp": now + 60}, bare),
        "alg-none": b64(b'{"alg":"none"}') + "." + b64(b'{"room":"r","exp":1900000000}') + ".",
        "crit": token({**hs, "crit": ["exp"]}, {"room": "r", "exp": now + 60}, bare),
        "float-exp": token(hs, {"room": "r", "exp": now + 0.5}, bare),
    }


def write(target, seeds):
    out = pathlib.Path(__file__).resolve().parent / "corpus" / target
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    for name, data in seeds.items():
        (out / name).write_bytes(data.encode() if isinstance(data, str) else data)


def main():
    write("fuzz_hub", {name: scenario.data() for name, scenario in hub_seeds().items()})
    write("fuzz_origin", origin_seeds())
    write("fuzz_host_policy", host_policy_seeds())
    write("fuzz_protocol", {**PROTOCOL_SEEDS, **PROTOCOL_BINARY_SEEDS})
    write("fuzz_resolve_target", RESOLVE_SEEDS)
    write("fuzz_ws_frames", ws_frames_seeds())
    write("fuzz_ws_connection", {name: script.data() for name, script in ws_connection_seeds().items()})
    write("fuzz_redis_url", REDIS_URL_SEEDS)
    write("fuzz_bus_message", BUS_MESSAGE_SEEDS)
    write("fuzz_room_token", room_token_seeds())


if __name__ == "__main__":
    main()
