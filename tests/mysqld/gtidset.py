"""MySQL GTID sets: text, binary encoding, set algebra.

A set maps a TSID (16-byte UUID, tag) to sorted, disjoint half-open
intervals [start, end). Tags are MySQL 8.3+'s; "" is the untagged TSID.
Text follows Gtid_set::to_string(): TSIDs ordered by UUID then tag, the
untagged intervals right after the UUID, then each tag with its own
("uuid:1-13:mytag:1-2"), UUIDs separated by ",\\n" like @@gtid_executed.
The binary form is Gtid_set::encode()'s (COM_BINLOG_DUMP_GTID, the
PREVIOUS_GTIDS event): n_sids as 8 bytes, with the format byte in the top
and bottom byte when any TSID is tagged, then per TSID the UUID, the tag
(tagged format only, its length a mysql::serialization varint), the number
of intervals and each interval as two 8-byte integers.
"""

import re
import struct
import uuid as uuidmod


class GtidError(ValueError):
    pass


_TAG_RE = re.compile(r"^[a-z_][a-z0-9_]{0,31}$")


def uuid_bytes(text):
    try:
        return uuidmod.UUID(text.strip()).bytes
    except ValueError:
        raise GtidError("malformed UUID '%s'" % text) from None


def uuid_text(b):
    return str(uuidmod.UUID(bytes=bytes(b)))


def ser_uint_encode(v):
    """mysql::serialization varint: the first byte's trailing one bits
    count the bytes that follow."""
    for extra in range(8):
        if v < (1 << (7 * (extra + 1))):
            first = ((v << (extra + 1)) | ((1 << extra) - 1)) & 0xFF
            rest = v >> (7 - extra)
            return bytes([first]) + rest.to_bytes(extra, "little")
    return b"\xff" + v.to_bytes(8, "little")


def ser_uint_decode(b, off):
    first = b[off]
    extra = 0
    while extra < 8 and (first >> extra) & 1:
        extra += 1
    if off + 1 + extra > len(b):
        raise GtidError("truncated varint")
    if extra == 8:
        return int.from_bytes(b[off + 1:off + 9], "little"), off + 9
    v = first >> (extra + 1)
    for i in range(extra):
        v |= b[off + 1 + i] << (8 * i + 7 - extra)
    return v, off + 1 + extra


class GtidSet:
    def __init__(self, text=None):
        self.m = {}
        if text:
            self.add_text(text)

    # -- building --------------------------------------------------------
    def copy(self):
        g = GtidSet()
        g.m = {k: list(v) for k, v in self.m.items()}
        return g

    def add_interval(self, tsid, start, end):
        if end <= start:
            return
        ivs = self.m.setdefault(tsid, [])
        out = []
        placed = False
        for s, e in ivs:
            if e < start:
                out.append((s, e))
            elif end < s:
                if not placed:
                    out.append((start, end))
                    placed = True
                out.append((s, e))
            else:
                start, end = min(s, start), max(e, end)
        if not placed:
            out.append((start, end))
        out.sort()
        self.m[tsid] = out

    def add(self, uuid_b, tag, gno):
        ivs = self.m.get((uuid_b, tag))
        if ivs and ivs[-1][1] == gno:  # the common case: appending
            ivs[-1] = (ivs[-1][0], gno + 1)
            return
        self.add_interval((uuid_b, tag), gno, gno + 1)

    def add_set(self, other):
        for tsid, ivs in other.m.items():
            for s, e in ivs:
                self.add_interval(tsid, s, e)
        return self

    def add_text(self, text):
        text = text.strip()
        if not text:
            return self
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            elems = [x.strip() for x in part.split(":")]
            ub = uuid_bytes(elems[0])
            tag = ""
            if len(elems) < 2:
                raise GtidError("malformed GTID set '%s'" % part)
            for el in elems[1:]:
                if el and el[0].isdigit():
                    m = re.match(r"^(\d+)(?:-(\d+))?$", el)
                    if not m:
                        raise GtidError("malformed interval '%s'" % el)
                    s = int(m.group(1))
                    e = int(m.group(2)) if m.group(2) else s
                    if s < 1 or e < s:
                        raise GtidError("malformed interval '%s'" % el)
                    self.add_interval((ub, tag), s, e + 1)
                else:
                    tag = el.lower()
                    if not _TAG_RE.match(tag):
                        raise GtidError("malformed tag '%s'" % el)
        return self

    # -- queries ---------------------------------------------------------
    def contains(self, uuid_b, tag, gno):
        for s, e in self.m.get((uuid_b, tag), ()):
            if s <= gno < e:
                return True
            if s > gno:
                return False
        return False

    def is_empty(self):
        return not any(self.m.values())

    def subtract(self, other):
        out = GtidSet()
        for tsid, ivs in self.m.items():
            rem = list(ivs)
            for s2, e2 in other.m.get(tsid, ()):
                nxt = []
                for s, e in rem:
                    if e2 <= s or e <= s2:
                        nxt.append((s, e))
                        continue
                    if s < s2:
                        nxt.append((s, s2))
                    if e2 < e:
                        nxt.append((e2, e))
                rem = nxt
            if rem:
                out.m[tsid] = rem
        return out

    def is_subset(self, other):
        return self.subtract(other).is_empty()

    def is_subset_for_uuid(self, other, uuid_b):
        """Only the TSIDs of one UUID (all its tags), as
        Gtid_set::is_subset_for_sid()."""
        a = GtidSet()
        a.m = {k: v for k, v in self.m.items() if k[0] == uuid_b}
        return a.is_subset(other)

    def has_tags(self):
        return any(t for (_, t), ivs in self.m.items() if ivs)

    def __eq__(self, other):
        return isinstance(other, GtidSet) and self.is_subset(other) and other.is_subset(self)

    def first(self):
        """(uuid, tag, gno) of the smallest TSID's first GTID, or None."""
        for tsid in sorted(self.m):
            if self.m[tsid]:
                return tsid[0], tsid[1], self.m[tsid][0][0]
        return None

    # -- text --------------------------------------------------------------
    def to_text(self, sep=",\n"):
        parts = []
        cur_uuid = None
        cur = []
        for (ub, tag) in sorted(self.m):
            ivs = self.m[(ub, tag)]
            if not ivs:
                continue
            if ub != cur_uuid:
                if cur:
                    parts.append("".join(cur))
                cur = [uuid_text(ub)]
                cur_uuid = ub
            if tag:
                cur.append(":" + tag)
            for s, e in ivs:
                cur.append(":%d" % s if e == s + 1 else ":%d-%d" % (s, e - 1))
        if cur:
            parts.append("".join(cur))
        return sep.join(parts)

    def __str__(self):
        return self.to_text(",")

    # -- binary ------------------------------------------------------------
    def encode(self, skip_tagged=False):
        tagged = self.has_tags() and not skip_tagged
        body = bytearray()
        n = 0
        for (ub, tag) in sorted(self.m):
            ivs = self.m[(ub, tag)]
            if not ivs or (tag and skip_tagged):
                continue
            n += 1
            body += ub
            if tagged:
                t = tag.encode()
                body += ser_uint_encode(len(t)) + t
            body += struct.pack("<Q", len(ivs))
            for s, e in ivs:
                body += struct.pack("<qq", s, e)
        head = (1 << 56) | (n << 8) | 1 if tagged else n
        return struct.pack("<Q", head) + bytes(body)

    @classmethod
    def decode(cls, b):
        """Decodes an encoded set; returns (set, bytes used)."""
        g = cls()
        if len(b) < 8:
            raise GtidError("Malformed GTID_set encoding.")
        head = struct.unpack_from("<Q", b, 0)[0]
        fmt = head >> 56
        if fmt == 0:
            n = head & ((1 << 56) - 1)
        elif fmt == 1:
            n = (head >> 8) & 0xFFFFFFFFFFFF
        else:
            raise GtidError("Malformed GTID_set encoding.")
        off = 8
        for _ in range(n):
            if len(b) - off < 16 + 8:
                raise GtidError("Malformed GTID_set encoding.")
            ub = bytes(b[off:off + 16])
            off += 16
            tag = ""
            if fmt == 1:
                tl, off = ser_uint_decode(b, off)
                tag = bytes(b[off:off + tl]).decode()
                off += tl
            (niv,) = struct.unpack_from("<Q", b, off)
            off += 8
            if len(b) - off < 16 * niv:
                raise GtidError("Malformed GTID_set encoding.")
            last = 0
            for _ in range(niv):
                s, e = struct.unpack_from("<qq", b, off)
                off += 16
                if s <= last or e <= s:
                    raise GtidError("Malformed GTID_set encoding.")
                last = e
                g.add_interval((ub, tag), s, e)
        return g, off
