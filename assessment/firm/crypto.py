"""Encryption at rest (AES-256-GCM) and passphrase-sealed files.

- `seal`/`unseal`: stored files (evidence, memos, template versions) under the firm's data key
  (keys.py). A sealed value is `MAGIC, key id, 96-bit random nonce, ciphertext and tag`; the
  caller's `aad` (the SHA-256 of the plain bytes) is authenticated with it, so a sealed value
  moved to another row does not open.
- `seal_with_passphrase`/`unseal_with_passphrase`: backups and exports that leave the machine
  carry their own key, derived from a passphrase with argon2id (RFC 9106: 3 passes, 64 MiB,
  4 lanes, 16-byte random salt). The file is a header line then 1 MiB chunks, each sealed with
  a nonce of (random prefix, counter) and the header, its number and a last-chunk flag as
  associated data: an altered, reordered, cut or extended file does not open, and a wrong
  passphrase reads as exactly that."""
from __future__ import annotations

import json
import secrets
import struct

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from assessment.core.errors import KEY005, KEY006, KEY007, KEY008, AssessmentError, Problem
from assessment.firm import keys as keymod

MAGIC = b"\x00CLE1"
PASS_MAGIC = b"CLETS-SEALED/1\n"
CHUNK = 1 << 20
KDF = {"name": "argon2id", "time_cost": 3, "memory_cost": 65536, "parallelism": 4}


class Unreadable(AssessmentError):
    """A sealed value that does not open (wrong key or passphrase, or altered)."""


def is_sealed(blob: bytes) -> bool:
    return bytes(blob[:len(MAGIC)]) == MAGIC


def key_id(blob: bytes) -> str:
    n = blob[len(MAGIC)]
    return bytes(blob[len(MAGIC) + 1:len(MAGIC) + 1 + n]).decode("ascii")


def seal(data: bytes, aad: bytes = b"", keys: keymod.Keys | None = None) -> bytes:
    keys = keys or keymod.load()
    kid = keys.active.encode("ascii")
    head = MAGIC + bytes([len(kid)]) + kid
    nonce = secrets.token_bytes(12)
    return head + nonce + AESGCM(keys.data_key).encrypt(nonce, bytes(data), head + aad)


def unseal(blob: bytes, aad: bytes = b"", keys: keymod.Keys | None = None, *, what: str = "a stored file") -> bytes:
    """The plain bytes of a sealed value. Raises Unreadable (a located KEY problem) when the key it
    names is gone or the value was altered."""
    blob = bytes(blob)
    if not is_sealed(blob):
        raise Unreadable([Problem(KEY005, f"{what} is not encrypted as it should be", hint="restore it from a backup")])
    keys = keys or keymod.load()
    kid = key_id(blob)
    key = keys.data_keys.get(kid)
    if key is None:
        raise Unreadable([Problem(KEY006, f"{what} is encrypted under key {kid}, which the key file no longer holds",
                                  file=str(keys.path), hint="restore the key file that holds it")])
    start = len(MAGIC) + 1 + len(kid)
    try:
        return AESGCM(key).decrypt(blob[start:start + 12], blob[start + 12:], blob[:start] + aad)
    except InvalidTag:
        raise Unreadable([Problem(KEY007, f"{what} does not decrypt: it was altered in the database",
                                  hint="restore it from a backup")]) from None


# ---- passphrase-sealed files (backups, exports) -----------------------------------------------------
def _derive(passphrase: str, salt: bytes, kdf: dict) -> bytes:
    if kdf.get("name") != "argon2id":
        raise ValueError(f"unknown key derivation {kdf.get('name')!r}")
    # bounds, so a forged header cannot make the reader spend unbounded time or memory
    t, m, p = int(kdf["time_cost"]), int(kdf["memory_cost"]), int(kdf["parallelism"])
    if not (1 <= t <= 10 and 8 * p <= m <= 1 << 20 and 1 <= p <= 16):
        raise ValueError("key-derivation parameters out of range")
    return hash_secret_raw(passphrase.encode("utf-8"), salt, time_cost=t, memory_cost=m, parallelism=p,
                           hash_len=32, type=Type.ID)


def is_passphrase_sealed(data: bytes) -> bool:
    return data.startswith(PASS_MAGIC)


def seal_with_passphrase(data: bytes, passphrase: str, kind: str) -> bytes:
    """`data` sealed under a key derived from `passphrase` (see the module's docstring)."""
    if len(passphrase) < 8:
        raise ValueError("a passphrase needs at least 8 characters")
    salt, prefix = secrets.token_bytes(16), secrets.token_bytes(8)
    header = PASS_MAGIC + json.dumps({"kind": kind, "kdf": {**KDF, "salt": salt.hex()}, "nonce_prefix": prefix.hex(),
                                      "chunk": CHUNK}, sort_keys=True).encode("ascii") + b"\n"
    gcm = AESGCM(_derive(passphrase, salt, KDF))
    out = [header]
    chunks = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]
    for n, chunk in enumerate(chunks):
        last = n == len(chunks) - 1
        sealed = gcm.encrypt(prefix + struct.pack(">I", n), chunk, header + struct.pack(">I?", n, last))
        out.append(struct.pack(">I", len(sealed)) + sealed)
    return b"".join(out)


def unseal_with_passphrase(blob: bytes, passphrase: str, name: str = "the file") -> tuple[str, bytes]:
    """(kind, plain bytes). Raises Unreadable for a wrong passphrase or an altered, cut or damaged file."""
    def bad(message: str) -> Unreadable:
        return Unreadable([Problem(KEY008, message, file=name,
                                   hint="check the passphrase; if it is right, the file was altered or damaged")])
    if not is_passphrase_sealed(blob):
        raise bad("not a passphrase-sealed file")
    end = blob.find(b"\n", len(PASS_MAGIC))
    if end < 0 or end > 4096:
        raise bad("the file's header is damaged")
    header = blob[:end + 1]
    try:
        meta = json.loads(blob[len(PASS_MAGIC):end])
        kdf = meta["kdf"]
        key = _derive(passphrase, bytes.fromhex(kdf["salt"]), kdf)
        prefix = bytes.fromhex(meta["nonce_prefix"])
    except (ValueError, KeyError, TypeError):
        raise bad("the file's header is damaged") from None
    gcm, pos, n, parts, last = AESGCM(key), end + 1, 0, [], False
    while not last:
        if pos + 4 > len(blob):
            raise bad("the file is cut short")
        (size,) = struct.unpack(">I", blob[pos:pos + 4])
        sealed = blob[pos + 4:pos + 4 + size]
        pos += 4 + size
        last = pos >= len(blob)
        try:
            parts.append(gcm.decrypt(prefix + struct.pack(">I", n), sealed, header + struct.pack(">I?", n, last)))
        except InvalidTag:
            if n == 0:
                raise bad("the passphrase is wrong, or the file was altered") from None
            raise bad(f"part {n + 1} of the file does not decrypt: it was altered, cut or extended") from None
        n += 1
    return meta.get("kind", ""), b"".join(parts)
