"""WeChat callback cryptography: request signatures and the WXBizMsgCrypt AES envelope of pushes and replies.

Signatures are sha1 over the byte-wise sorted, concatenated parts. The AES scheme is AES-256-CBC with
IV = key[:16], cipher padding off and PKCS#7 with a 32-byte block, over
random(16) ‖ uint32 big-endian length ‖ message ‖ appid.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from typing import ClassVar

from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers.algorithms import AES
from cryptography.hazmat.primitives.ciphers.modes import CBC

from wxfunnel.protocol.limits import ENCODING_AES_KEY

_BLOCK = 32  # WXBizMsgCrypt pads to 32 bytes, not to the AES block of 16
_RANDOM_LEN = 16
_HEADER_LEN = _RANDOM_LEN + 4
_SHA1_HEX = re.compile(r"[0-9a-fA-F]{40}")


class CryptoError(Exception):
    """A WXBizMsgCrypt failure: `code` is the library's error code, `reason` what failed (never a secret)."""

    default_code: ClassVar[int] = -40007

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = self.default_code if code is None else code


class SignatureMismatch(CryptoError):
    default_code = -40001


class InvalidAesKey(CryptoError):
    default_code = -40004


class AppIdMismatch(CryptoError):
    default_code = -40005


class DecryptFailed(CryptoError):
    """-40007 decrypt failed, -40008 invalid decrypted buffer, -40010 base64 decode failed."""

    default_code = -40007


def signature(*parts: str) -> str:
    # Code-point order of str is the byte order of their UTF-8 encoding: this is WeChat's byte-wise sort.
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8", "surrogatepass")).hexdigest()


def signature_matches(expected_parts: tuple[str, ...], given: str) -> bool:
    if not isinstance(given, str) or _SHA1_HEX.fullmatch(given) is None:
        return False
    try:
        expected = signature(*expected_parts)
    except (TypeError, ValueError):
        return False
    return hmac.compare_digest(expected, given.lower())


def aes_key_from_encoding_key(encoding_aes_key: str) -> bytes:
    if not isinstance(encoding_aes_key, str) or ENCODING_AES_KEY.fullmatch(encoding_aes_key) is None:
        raise InvalidAesKey("EncodingAESKey must be exactly 43 characters of [A-Za-z0-9]")
    return base64.b64decode(encoding_aes_key + "=")


@dataclass(frozen=True, slots=True)
class Envelope:
    """A sealed reply: the ciphertext and what signs it."""

    encrypt: str
    msg_signature: str
    timestamp: str
    nonce: str


@dataclass(frozen=True, slots=True)
class Opened:
    """A decrypted body, and which EncodingAESKey opened it."""

    plaintext: bytes
    key_index: int  # 0 = the current EncodingAESKey, 1 = the previous one


class _Key:
    __slots__ = ("_cipher",)

    def __init__(self, encoding_aes_key: str) -> None:
        key = aes_key_from_encoding_key(encoding_aes_key)
        # IV = key[:16] is fixed per key: one Cipher serves every call, only its cheap contexts are per call.
        self._cipher = Cipher(AES(key), CBC(key[:_RANDOM_LEN]))

    def open(self, ciphertext: bytes, appid: bytes) -> bytes:
        decryptor = self._cipher.decryptor()
        plain = decryptor.update(ciphertext) + decryptor.finalize()
        pad = plain[-1]
        # No padding oracle: msg_signature (keyed by the token) is checked before anything is decrypted.
        if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes((pad,)) * pad:
            raise DecryptFailed("invalid padding", -40007)
        end = len(plain) - pad
        if end < _HEADER_LEN:
            raise DecryptFailed("decrypted buffer too short", -40008)
        msg_len = int.from_bytes(plain[_RANDOM_LEN:_HEADER_LEN], "big")
        if msg_len > end - _HEADER_LEN:
            raise DecryptFailed("message length exceeds the decrypted buffer", -40008)
        if plain[_HEADER_LEN + msg_len : end] != appid:
            raise AppIdMismatch("decrypted appid does not match")
        return plain[_HEADER_LEN : _HEADER_LEN + msg_len]

    def seal(self, plaintext: bytes, appid: bytes, random16: bytes) -> bytes:
        body = b"".join((random16, len(plaintext).to_bytes(4, "big"), plaintext, appid))
        pad = _BLOCK - len(body) % _BLOCK
        encryptor = self._cipher.encryptor()
        return encryptor.update(body + bytes((pad,)) * pad) + encryptor.finalize()


class MessageCrypto:
    """One app's WXBizMsgCrypt: Token, appid, the current and (during a rotation) the previous AES key."""

    __slots__ = ("_appid", "_keys", "_token")

    def __init__(
        self, token: str, appid: str, encoding_aes_key: str, previous_encoding_aes_key: str | None = None
    ) -> None:
        self._token = token
        self._appid = appid.encode("utf-8")
        keys = [_Key(encoding_aes_key)]
        if previous_encoding_aes_key:
            keys.append(_Key(previous_encoding_aes_key))
        self._keys = tuple(keys)

    def __repr__(self) -> str:
        return f"MessageCrypto(appid={self._appid.decode()!r}, keys={len(self._keys)})"

    def verify_and_decrypt(self, encrypt: str, msg_signature: str, timestamp: str, nonce: str) -> Opened:
        if not signature_matches((self._token, timestamp, nonce, encrypt), msg_signature):
            raise SignatureMismatch("msg_signature does not match")
        try:
            ciphertext = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise DecryptFailed("Encrypt is not valid base64", -40010) from None
        if not ciphertext or len(ciphertext) % 16:
            raise DecryptFailed("ciphertext length is not a positive multiple of 16", -40007)
        first_error: DecryptFailed | AppIdMismatch | None = None
        # During a key rotation WeChat may still use the previous key; the reply must use the key that worked.
        for index, key in enumerate(self._keys):
            try:
                return Opened(key.open(ciphertext, self._appid), index)
            except (DecryptFailed, AppIdMismatch) as exc:
                first_error = first_error or exc
        assert first_error is not None
        raise first_error

    def encrypt(
        self, plaintext: bytes, timestamp: str, nonce: str, key_index: int = 0, random16: bytes | None = None
    ) -> Envelope:
        if not 0 <= key_index < len(self._keys):
            raise ValueError(f"no AES key with index {key_index}")
        if random16 is None:
            random16 = os.urandom(_RANDOM_LEN)
        elif len(random16) != _RANDOM_LEN:
            raise ValueError("random16 must be 16 bytes")
        if len(plaintext) >= 1 << 32:
            raise ValueError("plaintext too large for a uint32 length")
        sealed = self._keys[key_index].seal(plaintext, self._appid, random16)
        encrypt = base64.b64encode(sealed).decode("ascii")
        return Envelope(encrypt, signature(self._token, timestamp, nonce, encrypt), timestamp, nonce)
