#!/usr/bin/env python3
"""Writes a MaxMind DB file (.mmdb, format 2.0) from a readable JSON fixture, with no dependency.

The format (https://maxmind.github.io/MaxMind-DB/): a binary search tree over the address bits
(each node two records of 24, 28 or 32 bits: another node, "no data" = node_count, or a pointer into
the data section = node_count + 16 + offset), 16 zero bytes, the data section (MaxMind's typed
fields), then "\\xAB\\xCD\\xEFMaxMind.com" and the metadata map.

Fixture (JSON):
  {"ip_version": 6, "record_size": 28, "database_type": "GeoIP2-City", "build_epoch": 1764547200,
   "networks": [{"network": "192.0.2.0/24", "data": {"country": {"iso_code": "DE"}, ...}}, ...]}

Values: an object is a map, a string utf8_string, a float a double, an int uint32, a list an array, a
bool a boolean; {"$uint16": N}, {"$uint32": N}, {"$uint64": N}, {"$double": X} force a type. In an
ip_version 6 database, IPv4 networks are stored under ::/96 (where libmaxminddb looks them up).
Later networks are written over earlier ones where they overlap (a shorter network after a longer one
keeps the longer one's part: each network only fills what is still empty or its own subtree).

Usage: mmdb_writer.py FIXTURE.json OUT.mmdb   (OUT is written to OUT.tmp, then renamed)
"""
import ipaddress
import json
import os
import struct
import sys

METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"


class Encoder:
    """The data section: each distinct value written once (same JSON, same offset)."""

    def __init__(self):
        self.buf = bytearray()
        self.cache = {}

    @staticmethod
    def control(type_, size):
        out = bytearray()
        if type_ <= 7:
            first = type_ << 5
            ext = None
        else:
            first = 0
            ext = type_ - 7
        if size < 29:
            first |= size
            rest = b""
        elif size < 29 + 256:
            first |= 29
            rest = bytes([size - 29])
        elif size < 285 + 65536:
            first |= 30
            rest = struct.pack(">H", size - 285)
        else:
            first |= 31
            rest = struct.pack(">I", size - 65821)[1:]
        out.append(first)
        if ext is not None:
            out.append(ext)
        out += rest
        return bytes(out)

    @staticmethod
    def uint(type_, value, width):
        if value < 0 or value >= 1 << (8 * width):
            raise ValueError(f"{value} does not fit in {width} bytes")
        raw = value.to_bytes(width, "big").lstrip(b"\0")
        return Encoder.control(type_, len(raw)) + raw

    def encode(self, v):
        if isinstance(v, dict) and len(v) == 1 and next(iter(v)).startswith("$"):
            (tag, x), = v.items()
            if tag == "$uint16":
                return self.uint(5, x, 2)
            if tag == "$uint32":
                return self.uint(6, x, 4)
            if tag == "$uint64":
                return self.uint(9, x, 8)
            if tag == "$double":
                return self.control(3, 8) + struct.pack(">d", float(x))
            raise ValueError(f"unknown type tag {tag}")
        if isinstance(v, bool):
            return self.control(14, 1 if v else 0)
        if isinstance(v, dict):
            out = bytearray(self.control(7, len(v)))
            for k, x in v.items():
                out += self.encode(str(k))
                out += self.encode(x)
            return bytes(out)
        if isinstance(v, list):
            out = bytearray(self.control(11, len(v)))
            for x in v:
                out += self.encode(x)
            return bytes(out)
        if isinstance(v, str):
            raw = v.encode("utf-8")
            return self.control(2, len(raw)) + raw
        if isinstance(v, float):
            return self.control(3, 8) + struct.pack(">d", v)
        if isinstance(v, int):
            return self.uint(6, v, 4)
        raise ValueError(f"cannot encode {v!r}")

    def add(self, v):
        key = json.dumps(v, sort_keys=True)
        if key not in self.cache:
            self.cache[key] = len(self.buf)
            self.buf += self.encode(v)
        return self.cache[key]


class Node:
    __slots__ = ("children", "number")

    def __init__(self):
        self.children = [None, None]  # None (no data), a Node, or ("data", offset)
        self.number = -1


def insert(root, bits, prefix, leaf):
    node = root
    for i in range(prefix - 1):
        b = bits[i]
        child = node.children[b]
        if not isinstance(child, Node):
            new = Node()
            if child is not None:  # split a shorter network's leaf: both halves keep it
                new.children = [child, child]
            node.children[b] = new
            child = new
        node = child
    node.children[bits[prefix - 1]] = leaf


def address_bits(net, ip_version):
    if net.version == 4 and ip_version == 6:
        value, width, prefix = int(net.network_address), 128, net.prefixlen + 96
    else:
        value, width, prefix = int(net.network_address), net.max_prefixlen, net.prefixlen
    if ip_version == 4 and net.version == 6:
        raise ValueError(f"{net}: IPv6 network in an ip_version 4 database")
    return [(value >> (width - 1 - i)) & 1 for i in range(width)], prefix


def write(fixture, out_path):
    ip_version = fixture.get("ip_version", 6)
    record_size = fixture.get("record_size", 28)
    if record_size not in (24, 28, 32):
        raise ValueError("record_size must be 24, 28 or 32")
    data = Encoder()
    root = Node()
    for n in fixture["networks"]:
        net = ipaddress.ip_network(n["network"], strict=True)
        bits, prefix = address_bits(net, ip_version)
        if prefix == 0:
            raise ValueError("a /0 network is not supported")
        insert(root, bits, prefix, ("data", data.add(n["data"])))

    # Number the nodes breadth first (the root is node 0).
    order, queue = [], [root]
    while queue:
        node = queue.pop(0)
        node.number = len(order)
        order.append(node)
        queue += [c for c in node.children if isinstance(c, Node)]
    node_count = len(order)

    def value(rec):
        if rec is None:
            return node_count
        if isinstance(rec, Node):
            return rec.number
        return node_count + 16 + rec[1]

    tree = bytearray()
    for node in order:
        left, right = value(node.children[0]), value(node.children[1])
        if max(left, right) >= 1 << record_size:
            raise ValueError(f"record value too large for record_size {record_size}")
        if record_size == 24:
            tree += left.to_bytes(3, "big") + right.to_bytes(3, "big")
        elif record_size == 28:
            tree += (left & 0xFFFFFF).to_bytes(3, "big")
            tree.append(((left >> 24) & 0x0F) << 4 | ((right >> 24) & 0x0F))
            tree += (right & 0xFFFFFF).to_bytes(3, "big")
        else:
            tree += left.to_bytes(4, "big") + right.to_bytes(4, "big")

    meta = Encoder()
    metadata = meta.encode({
        "binary_format_major_version": {"$uint16": 2},
        "binary_format_minor_version": {"$uint16": 0},
        "build_epoch": {"$uint64": fixture.get("build_epoch", 1764547200)},
        "database_type": fixture.get("database_type", "Cairn-Test"),
        "description": {"en": fixture.get("description", "written by scripts/lib/mmdb_writer.py")},
        "ip_version": {"$uint16": ip_version},
        "languages": ["en"],
        "node_count": {"$uint32": node_count},
        "record_size": {"$uint16": record_size},
    })
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(bytes(tree) + b"\0" * 16 + bytes(data.buf) + METADATA_MARKER + metadata)
    os.replace(tmp, out_path)
    return node_count


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1]) as f:
        fixture = json.load(f)
    write(fixture, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
