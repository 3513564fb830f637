#!/usr/bin/env python3
"""avro_wire.py -- a dependency-free Avro binary codec for payworker's events,
written from the Avro specification, independent of the C code.

It serves two purposes:
  * tests: it produces the golden bytes the C codec must match, and decodes
    what the C codec writes;
  * documentation: it is how a consumer in another language reads the events
    (Confluent framing: magic byte 0, 4-byte big-endian schema id, Avro body).

  avro_wire.py encode SCHEMA.avsc ID < value.json   -> hex of the framed message
  avro_wire.py decode SCHEMA.avsc < hex             -> JSON of the value

Unions are written as their value; for a union of several records the record
whose "x-provider" matches the sibling field "provider" is chosen (the
command's request), otherwise the first non-null branch.
"""
import json
import struct
import sys


class Schema:
    def __init__(self, root):
        self.named = {}
        self.root = self._index(root, None)

    def _index(self, s, ns):
        if isinstance(s, dict) and s.get("type") in ("record", "enum", "fixed"):
            ns = s.get("namespace", ns)
            full = s["name"] if "." in s["name"] or not ns else ns + "." + s["name"]
            self.named[full] = s
            self.named[s["name"]] = s
            if s["type"] == "record":
                for f in s["fields"]:
                    self._index(f["type"], ns)
        elif isinstance(s, dict) and s.get("type") == "array":
            self._index(s["items"], ns)
        elif isinstance(s, dict) and s.get("type") == "map":
            self._index(s["values"], ns)
        elif isinstance(s, list):
            for b in s:
                self._index(b, ns)
        return s

    def resolve(self, s):
        if isinstance(s, str) and s in self.named:
            return self.named[s]
        return s


def type_name(s):
    if isinstance(s, str):
        return s
    if isinstance(s, list):
        return "union"
    return s["type"]


def zigzag(n):
    return (n << 1) ^ (n >> 63)


def write_long(out, n):
    n = zigzag(n) & 0xFFFFFFFFFFFFFFFF
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return


def write_bytes(out, b):
    write_long(out, len(b))
    out.extend(b)


def encode(sc, s, v, out, hint=None):
    s = sc.resolve(s)
    t = type_name(s)
    if isinstance(s, dict) and t in ("int", "long", "string", "boolean", "null"):
        s = t  # {"type": "long", "logicalType": ...}
    if t == "null":
        return
    if t == "boolean":
        out.append(1 if v else 0)
    elif t in ("int", "long"):
        write_long(out, int(v))
    elif t == "string":
        write_bytes(out, (v if isinstance(v, str) else json.dumps(v)).encode("utf-8"))
    elif t == "enum":
        write_long(out, s["symbols"].index(v))
    elif t == "union":
        branches = [sc.resolve(b) for b in s]
        if v is None:
            idx = [type_name(b) for b in branches].index("null")
        else:
            idx = None
            records = [i for i, b in enumerate(branches) if type_name(b) == "record"]
            if len(records) > 1:
                idx = next(i for i in records if branches[i].get("x-provider") == hint)
            else:
                idx = next(i for i, b in enumerate(branches) if type_name(b) != "null")
        write_long(out, idx)
        encode(sc, branches[idx], v, out)
    elif t == "record":
        for f in s["fields"]:
            encode(sc, f["type"], v.get(f["name"], f.get("default")), out, v.get("provider"))
    elif t == "array":
        if v:
            write_long(out, len(v))
            for item in v:
                encode(sc, s["items"], item, out)
        write_long(out, 0)
    elif t == "map":
        if v:
            write_long(out, len(v))
            for k, item in v.items():
                write_bytes(out, k.encode("utf-8"))
                encode(sc, s["values"], item, out)
        write_long(out, 0)
    else:
        raise ValueError("unsupported type " + t)


class Reader:
    def __init__(self, b):
        self.b, self.i = b, 0

    def long(self):
        shift = n = 0
        while True:
            c = self.b[self.i]
            self.i += 1
            n |= (c & 0x7F) << shift
            shift += 7
            if not c & 0x80:
                return (n >> 1) ^ -(n & 1)

    def raw(self, k):
        if k < 0 or self.i + k > len(self.b):
            raise ValueError("length beyond the message")
        r = self.b[self.i:self.i + k]
        self.i += k
        return r


def decode(sc, s, r):
    s = sc.resolve(s)
    t = type_name(s)
    if t == "null":
        return None
    if t == "boolean":
        return r.raw(1)[0] == 1
    if t in ("int", "long"):
        return r.long()
    if t == "string":
        return r.raw(r.long()).decode("utf-8")
    if t == "enum":
        return s["symbols"][r.long()]
    if t == "union":
        return decode(sc, s[r.long()], r)
    if t == "record":
        return {f["name"]: decode(sc, f["type"], r) for f in s["fields"]}
    if t in ("array", "map"):
        out = [] if t == "array" else {}
        while True:
            n = r.long()
            if n == 0:
                return out
            if n < 0:
                n = -n
                r.long()
            for _ in range(n):
                if t == "array":
                    out.append(decode(sc, s["items"], r))
                else:
                    k = r.raw(r.long()).decode("utf-8")
                    out[k] = decode(sc, s["values"], r)
    raise ValueError("unsupported type " + t)


def main():
    mode, path = sys.argv[1], sys.argv[2]
    sc = Schema(json.load(open(path, encoding="utf-8")))
    if mode == "encode":
        out = bytearray(b"\x00" + struct.pack(">I", int(sys.argv[3])))
        encode(sc, sc.root, json.load(sys.stdin), out)
        print(out.hex())
    else:
        b = bytes.fromhex(sys.stdin.read().strip())
        if b[0] != 0:
            sys.exit("not Confluent framed")
        r = Reader(b[5:])
        value = decode(sc, sc.root, r)
        if r.i != len(r.b):
            sys.exit("trailing bytes")
        print(json.dumps(value, ensure_ascii=False))


if __name__ == "__main__":
    main()
