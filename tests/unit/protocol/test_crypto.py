"""wxfunnel.crypto: official test vectors, key rotation, hostile ciphertexts, wechatpy as a second opinion."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers.algorithms import AES
from cryptography.hazmat.primitives.ciphers.modes import CBC
from wechatpy.crypto import WeChatCrypto

from wxfunnel.protocol import crypto
from wxfunnel.protocol.documents import BodyFormat, parse_document, read_envelope, render_envelope

# §12 V3: safe mode, JSON
V3_TOKEN, V3_APPID, V3_KEY = "AAAAA", "wxba5fad812f8e6fb9", "A" * 43
V3_TIMESTAMP, V3_NONCE = "1714112445", "415670741"
V3_ENCRYPT = (
    "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR"
    "8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km3"
    "2IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="
)
V3_MSG_SIGNATURE = "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"
V3_PLAINTEXT = (
    b'{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,'
    b'"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}'
)

# §12 V4 / V5: the official Java sample's parameters
V4_TOKEN, V4_APPID = "pamtest", "wxb11529c136998cb6"
V4_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
V4_TIMESTAMP, V4_NONCE, V4_RANDOM = "1409304348", "xxxxxx", b"aaaabbbbccccdddd"


@pytest.fixture
def v3() -> crypto.MessageCrypto:
    return crypto.MessageCrypto(V3_TOKEN, V3_APPID, V3_KEY)


@pytest.fixture
def v4() -> crypto.MessageCrypto:
    return crypto.MessageCrypto(V4_TOKEN, V4_APPID, V4_KEY)


def raw_ciphertext(buffer: bytes, encoding_aes_key: str = V4_KEY) -> str:
    """Encrypt an arbitrary (already padded) buffer the way WeChat would, to forge hostile plaintexts."""
    key = base64.b64decode(encoding_aes_key + "=")
    encryptor = Cipher(AES(key), CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(buffer) + encryptor.finalize()).decode()


def raw_plaintext(encrypt: str, encoding_aes_key: str) -> bytes:
    key = base64.b64decode(encoding_aes_key + "=")
    decryptor = Cipher(AES(key), CBC(key[:16])).decryptor()
    return decryptor.update(base64.b64decode(encrypt)) + decryptor.finalize()


def open_signed(box: crypto.MessageCrypto, encrypt: str, token: str = V4_TOKEN) -> crypto.Opened:
    """Sign whatever ciphertext with the right token, so that only the decryption can refuse it."""
    signature = crypto.signature(token, V4_TIMESTAMP, V4_NONCE, encrypt)
    return box.verify_and_decrypt(encrypt, signature, V4_TIMESTAMP, V4_NONCE)


# --- signatures ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        pytest.param(
            ("AAAAA", "1714036504", "1514711492"), "f464b24fc39322e44b38aa78f5edd27bd1441696", id="V1"
        ),
        pytest.param(
            ("AAAAA", "1714037059", "486452656"), "899cf89e464efb63f54ddac96b0a0a235f53aa78", id="V2"
        ),
        pytest.param(
            ("AAAAA", V3_TIMESTAMP, V3_NONCE), "6c5c811b55cc85e0e1b54100749188c20beb3f5d", id="V3-query"
        ),
        pytest.param(("test", "1410685589", "test"), "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", id="V6"),
    ],
)
def test_signature_matches_the_official_vectors(parts: tuple[str, ...], expected: str) -> None:
    assert crypto.signature(*parts) == expected
    assert crypto.signature(*reversed(parts)) == expected  # sorted, so the order of the parts does not matter
    assert crypto.signature_matches(parts, expected)


def test_msg_signature_covers_the_encrypt_field_v3() -> None:
    assert crypto.signature(V3_TOKEN, V3_TIMESTAMP, V3_NONCE, V3_ENCRYPT) == V3_MSG_SIGNATURE


def test_signature_sorts_byte_wise_not_by_number() -> None:
    # "10" < "9" byte-wise; a numeric sort would put 9 first
    assert crypto.signature("9", "10") == hashlib.sha1(b"109").hexdigest()
    assert crypto.signature("b", "B", "a") == hashlib.sha1(b"Bab").hexdigest()


def test_signature_accepts_uppercase_hex_from_a_lenient_sender() -> None:
    assert crypto.signature_matches(
        ("test", "1410685589", "test"), "F21891DE399B4E33A1A93C9A7B8A8FFFB5A443FF"
    )


@pytest.mark.parametrize(
    "given",
    [
        "",
        "f464b24fc39322e44b38aa78f5edd27bd144169",  # 39 characters
        "f464b24fc39322e44b38aa78f5edd27bd14416960",  # 41 characters
        "f464b24fc39322e44b38aa78f5edd27bd144169g",  # not hex
        "f464b24fc39322e44b38aa78f5edd27bd144169\n",
        "ｆ464b24fc39322e44b38aa78f5edd27bd1441696",  # full-width letter: not ASCII
        "0" * 40,
    ],
)
def test_signature_matches_is_false_for_garbage_and_never_raises(given: str) -> None:
    assert crypto.signature_matches(("AAAAA", "1714036504", "1514711492"), given) is False


def test_signature_matches_is_false_for_a_non_string() -> None:
    assert crypto.signature_matches(("AAAAA",), None) is False  # type: ignore[arg-type]


# --- the AES key --------------------------------------------------------------------------------------------


def test_aes_key_is_the_base64_of_the_encoding_key() -> None:
    assert crypto.aes_key_from_encoding_key("A" * 43) == bytes(32)
    assert len(crypto.aes_key_from_encoding_key(V4_KEY)) == 32


@pytest.mark.parametrize(
    "encoding_aes_key",
    [
        "A" * 42,
        "A" * 44,
        "A" * 42 + "+",
        "A" * 42 + "/",
        "A" * 42 + "=",
        "A" * 43 + "\n",
        "A" * 42 + "٣",  # a Unicode digit is not [0-9]
        "",
    ],
)
def test_invalid_encoding_aes_key_is_refused(encoding_aes_key: str) -> None:
    with pytest.raises(crypto.InvalidAesKey) as caught:
        crypto.MessageCrypto("token", "wxappid", encoding_aes_key)
    assert caught.value.code == -40004


def test_an_invalid_previous_key_is_refused_too() -> None:
    with pytest.raises(crypto.InvalidAesKey):
        crypto.MessageCrypto("token", "wxappid", "A" * 43, previous_encoding_aes_key="B" * 44)


# --- official ciphertexts -----------------------------------------------------------------------------------


def test_v3_safe_mode_push_decrypts_to_the_v2_body(v3: crypto.MessageCrypto) -> None:
    opened = v3.verify_and_decrypt(V3_ENCRYPT, V3_MSG_SIGNATURE, V3_TIMESTAMP, V3_NONCE)
    assert opened == crypto.Opened(V3_PLAINTEXT, key_index=0)
    assert len(opened.plaintext) == 167
    raw = raw_plaintext(V3_ENCRYPT, V3_KEY)
    assert raw[:16] == b"a8eedb185eb2fecf"
    assert int.from_bytes(raw[16:20], "big") == 167
    assert raw[20 + 167 :].rstrip(raw[-1:]) == V3_APPID.encode()


def test_v3_reply_encrypts_to_the_official_envelope(v3: crypto.MessageCrypto) -> None:
    envelope = v3.encrypt(b'{"demo_resp":"good luck"}', "1713424427", V3_NONCE, random16=b"707722b803182950")
    assert envelope == crypto.Envelope(
        encrypt="ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==",
        msg_signature="1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1",
        timestamp="1713424427",
        nonce=V3_NONCE,
    )


@pytest.mark.parametrize(
    ("message", "encrypt", "msg_signature"),
    [
        pytest.param(
            "我是中文abcd123",
            "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==",
            "82c962d39941aa48552f90ef55aa323dc620cc10",
            id="V4",
        ),
        pytest.param(
            "abcdefghijklmnopqrstuvwxyz",
            "jn1L23DB+6ELqJ+6bruv24kfnRA9CJ8qXRQfcTjuspbcu/BSVDHix6RSI3nK3z+fMd03dqZ5HIPCrQNNDa2xYd47apRHAo9FEf57/GQVWffq"
            "nF3WzheksoIGmk00BgBc",
            "2b07674cc11d69d1eb5a852d4d239f5190949b19",
            id="V5-full-pad-block",
        ),
    ],
)
def test_java_sample_vectors_encrypt_and_decrypt_exactly(
    v4: crypto.MessageCrypto, message: str, encrypt: str, msg_signature: str
) -> None:
    envelope = v4.encrypt(message.encode(), V4_TIMESTAMP, V4_NONCE, random16=V4_RANDOM)
    assert (envelope.encrypt, envelope.msg_signature) == (encrypt, msg_signature)
    opened = v4.verify_and_decrypt(encrypt, msg_signature, V4_TIMESTAMP, V4_NONCE)
    assert opened.plaintext.decode() == message


def test_v5_has_a_whole_block_of_padding() -> None:
    raw = raw_plaintext(
        "jn1L23DB+6ELqJ+6bruv24kfnRA9CJ8qXRQfcTjuspbcu/BSVDHix6RSI3nK3z+fMd03dqZ5HIPCrQNNDa2xYd47apRHAo9FEf57/GQVWffq"
        "nF3WzheksoIGmk00BgBc",
        V4_KEY,
    )
    assert len(raw) == 96
    assert raw[-32:] == bytes([32]) * 32


def test_encrypt_uses_fresh_randomness_by_default(v4: crypto.MessageCrypto) -> None:
    first = v4.encrypt(b"same", V4_TIMESTAMP, V4_NONCE)
    second = v4.encrypt(b"same", V4_TIMESTAMP, V4_NONCE)
    assert first.encrypt != second.encrypt
    assert (
        v4.verify_and_decrypt(first.encrypt, first.msg_signature, V4_TIMESTAMP, V4_NONCE).plaintext == b"same"
    )


def test_encrypt_refuses_a_random_prefix_of_the_wrong_size(v4: crypto.MessageCrypto) -> None:
    with pytest.raises(ValueError, match=r"^random16 must be 16 bytes$"):
        v4.encrypt(b"x", V4_TIMESTAMP, V4_NONCE, random16=b"short")


class _FourGiB(bytes):
    """A plaintext that claims 2**32 bytes: the size whose length no longer fits the envelope's uint32."""

    def __len__(self) -> int:
        return 1 << 32


def test_a_plaintext_whose_length_does_not_fit_a_uint32_is_refused_before_sealing(
    v4: crypto.MessageCrypto,
) -> None:
    with pytest.raises(ValueError, match=r"^plaintext too large for a uint32 length$"):
        v4.encrypt(_FourGiB(b"x"), V4_TIMESTAMP, V4_NONCE)


def test_ciphers_are_built_once_per_key_not_per_call(
    v4: crypto.MessageCrypto, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_new_ciphers(*_args: object) -> None:
        raise AssertionError("a Cipher was built during a call")

    monkeypatch.setattr(crypto, "Cipher", no_new_ciphers)
    envelope = v4.encrypt(b"hello", V4_TIMESTAMP, V4_NONCE)
    assert (
        v4.verify_and_decrypt(envelope.encrypt, envelope.msg_signature, V4_TIMESTAMP, V4_NONCE).plaintext
        == b"hello"
    )


# --- key rotation -------------------------------------------------------------------------------------------

OLD_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
NEW_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"


def test_a_push_under_the_previous_key_opens_with_key_index_1_and_the_reply_uses_that_key() -> None:
    wechat_still_on_old_key = crypto.MessageCrypto(V4_TOKEN, V4_APPID, OLD_KEY)
    rotated = crypto.MessageCrypto(V4_TOKEN, V4_APPID, NEW_KEY, previous_encoding_aes_key=OLD_KEY)
    push = wechat_still_on_old_key.encrypt(b"<xml>push</xml>", V4_TIMESTAMP, V4_NONCE)

    opened = rotated.verify_and_decrypt(push.encrypt, push.msg_signature, V4_TIMESTAMP, V4_NONCE)
    assert opened == crypto.Opened(b"<xml>push</xml>", key_index=1)

    reply = rotated.encrypt(b"<xml>reply</xml>", "1409304400", V4_NONCE, key_index=opened.key_index)
    back = wechat_still_on_old_key.verify_and_decrypt(
        reply.encrypt, reply.msg_signature, "1409304400", V4_NONCE
    )
    assert back == crypto.Opened(b"<xml>reply</xml>", key_index=0)


def test_a_push_under_the_current_key_opens_with_key_index_0() -> None:
    wechat = crypto.MessageCrypto(V4_TOKEN, V4_APPID, NEW_KEY)
    rotated = crypto.MessageCrypto(V4_TOKEN, V4_APPID, NEW_KEY, previous_encoding_aes_key=OLD_KEY)
    push = wechat.encrypt(b"<xml/>", V4_TIMESTAMP, V4_NONCE)
    assert rotated.verify_and_decrypt(push.encrypt, push.msg_signature, V4_TIMESTAMP, V4_NONCE).key_index == 0


def test_without_the_previous_key_an_old_push_does_not_open() -> None:
    push = crypto.MessageCrypto(V4_TOKEN, V4_APPID, OLD_KEY).encrypt(b"<xml/>", V4_TIMESTAMP, V4_NONCE)
    with pytest.raises((crypto.DecryptFailed, crypto.AppIdMismatch)):
        crypto.MessageCrypto(V4_TOKEN, V4_APPID, NEW_KEY).verify_and_decrypt(
            push.encrypt, push.msg_signature, V4_TIMESTAMP, V4_NONCE
        )


def test_replying_with_a_previous_key_that_is_not_configured_is_a_programming_error(
    v4: crypto.MessageCrypto,
) -> None:
    with pytest.raises(ValueError, match="index 1"):
        v4.encrypt(b"x", V4_TIMESTAMP, V4_NONCE, key_index=1)


# --- hostile input ------------------------------------------------------------------------------------------


def test_tampered_msg_signature_is_refused_before_decrypting(v3: crypto.MessageCrypto) -> None:
    tampered = V3_MSG_SIGNATURE[:-1] + ("0" if V3_MSG_SIGNATURE[-1] != "0" else "1")
    with pytest.raises(crypto.SignatureMismatch) as caught:
        v3.verify_and_decrypt(V3_ENCRYPT, tampered, V3_TIMESTAMP, V3_NONCE)
    assert caught.value.code == -40001


@pytest.mark.parametrize("field", ["timestamp", "nonce", "encrypt"])
def test_msg_signature_binds_timestamp_nonce_and_ciphertext(v3: crypto.MessageCrypto, field: str) -> None:
    values = {"encrypt": V3_ENCRYPT, "timestamp": V3_TIMESTAMP, "nonce": V3_NONCE}
    values[field] = values[field][:-2] + ("==" if field == "encrypt" else "00")
    with pytest.raises(crypto.SignatureMismatch):
        v3.verify_and_decrypt(values["encrypt"], V3_MSG_SIGNATURE, values["timestamp"], values["nonce"])


def test_plaintext_signature_does_not_stand_in_for_msg_signature(v3: crypto.MessageCrypto) -> None:
    with pytest.raises(crypto.SignatureMismatch):
        v3.verify_and_decrypt(V3_ENCRYPT, "6c5c811b55cc85e0e1b54100749188c20beb3f5d", V3_TIMESTAMP, V3_NONCE)


def test_a_push_for_another_appid_is_refused(v4: crypto.MessageCrypto) -> None:
    other_app = crypto.MessageCrypto(V4_TOKEN, "wx0000000000000000", V4_KEY)
    push = other_app.encrypt(b"<xml/>", V4_TIMESTAMP, V4_NONCE)
    with pytest.raises(crypto.AppIdMismatch) as caught:
        v4.verify_and_decrypt(push.encrypt, push.msg_signature, V4_TIMESTAMP, V4_NONCE)
    assert caught.value.code == -40005


def test_an_appid_that_only_shares_a_prefix_is_refused(v4: crypto.MessageCrypto) -> None:
    longer = crypto.MessageCrypto(V4_TOKEN, V4_APPID + "x", V4_KEY).encrypt(b"<xml/>", V4_TIMESTAMP, V4_NONCE)
    with pytest.raises(crypto.AppIdMismatch):
        open_signed(v4, longer.encrypt)


V4_CIPHERTEXT = base64.b64decode(
    "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
)


@pytest.mark.parametrize(
    ("encrypt", "code"),
    [
        pytest.param(base64.b64encode(V4_CIPHERTEXT[:-16]).decode(), -40007, id="truncated-by-a-block"),
        pytest.param(base64.b64encode(V4_CIPHERTEXT[:-5]).decode(), -40007, id="not-a-multiple-of-16"),
        pytest.param(base64.b64encode(V4_CIPHERTEXT[:15]).decode(), -40007, id="shorter-than-a-block"),
        pytest.param("", -40007, id="empty"),
        pytest.param("jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkg$", -40010, id="bad-base64-character"),
        pytest.param("jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmk", -40010, id="bad-base64-length"),
        pytest.param("jn1L23DB+6ELqJ+6bruv21Y6MD7K eIfP82D6gU39rmkg", -40010, id="space"),
        pytest.param("jn1L23DB+6ELqJ+6bruv21Y6MD7KéIfP82D6gU39rmkg", -40010, id="non-ascii"),
    ],
)
def test_malformed_ciphertext_is_refused(v4: crypto.MessageCrypto, encrypt: str, code: int) -> None:
    with pytest.raises(crypto.DecryptFailed) as caught:
        open_signed(v4, encrypt)
    assert caught.value.code == code


def forged(random16: bytes, msg_len: int, msg: bytes, appid: bytes, padding: bytes) -> str:
    return raw_ciphertext(random16 + msg_len.to_bytes(4, "big") + msg + appid + padding)


APPID = (
    V4_APPID.encode()
)  # 18 bytes: header 20 + msg 10 + appid 18 = 48, so 16 bytes of padding fill the buffer


@pytest.mark.parametrize(
    ("encrypt", "code"),
    [
        pytest.param(forged(V4_RANDOM, 10, b"0123456789", APPID, bytes([16]) * 16), None, id="well-formed"),
        pytest.param(
            forged(V4_RANDOM, 10, b"0123456789", APPID, bytes([16]) * 15 + b"\x00"), -40007, id="pad-0"
        ),
        pytest.param(
            forged(V4_RANDOM, 10, b"0123456789", APPID + bytes([33]) * 16, bytes([33]) * 16),
            -40007,
            id="pad-33",
        ),
        pytest.param(
            forged(V4_RANDOM, 10, b"0123456789", APPID, bytes([16]) * 7 + b"\x0f" + bytes([16]) * 8),
            -40007,
            id="inconsistent-pad-bytes",
        ),
        pytest.param(
            forged(V4_RANDOM, 11, b"0123456789", APPID, bytes([16]) * 16), -40005, id="msg-len-off-by-one"
        ),
        pytest.param(
            forged(V4_RANDOM, 29, b"0123456789", APPID, bytes([16]) * 16), -40008, id="msg-len-beyond-buffer"
        ),
        pytest.param(
            forged(V4_RANDOM, 2**32 - 1, b"0123456789", APPID, bytes([16]) * 16), -40008, id="msg-len-huge"
        ),
        pytest.param(raw_ciphertext(V4_RANDOM + bytes([16]) * 16), -40008, id="shorter-than-the-header"),
        pytest.param(raw_ciphertext(bytes([32]) * 32), -40008, id="all-padding"),
        pytest.param(
            forged(V4_RANDOM, 10, b"0123456789", b"wxb11529c136998cb7", bytes([16]) * 16),
            -40005,
            id="other-appid",
        ),
        pytest.param(
            forged(V4_RANDOM, 28, b"0123456789", APPID, bytes([16]) * 16), -40005, id="no-appid-left"
        ),
    ],
)
def test_forged_plaintexts_are_refused_with_the_right_error(
    v4: crypto.MessageCrypto, encrypt: str, code: int | None
) -> None:
    if code is None:
        assert open_signed(v4, encrypt).plaintext == b"0123456789"
        return
    with pytest.raises(crypto.CryptoError) as caught:
        open_signed(v4, encrypt)
    assert caught.value.code == code
    expected_type = crypto.AppIdMismatch if code == -40005 else crypto.DecryptFailed
    assert type(caught.value) is expected_type


def test_errors_and_reprs_never_carry_secrets() -> None:
    token, key = "s3cr3t-token", "Q" * 43
    box = crypto.MessageCrypto(token, V4_APPID, key)
    assert token not in repr(box) and key not in repr(box)
    for encrypt in ("$$$", raw_ciphertext(bytes(32), key)):
        with pytest.raises(crypto.CryptoError) as caught:
            open_signed(box, encrypt, token=token)
        text = f"{caught.value} {caught.value!r} {caught.value.reason}"
        assert token not in text and key not in text


def test_every_error_is_a_crypto_error_with_a_library_code() -> None:
    for error, code in [
        (crypto.SignatureMismatch, -40001),
        (crypto.InvalidAesKey, -40004),
        (crypto.AppIdMismatch, -40005),
        (crypto.DecryptFailed, -40007),
    ]:
        instance = error("why")
        assert isinstance(instance, crypto.CryptoError)
        assert (instance.code, instance.reason, str(instance)) == (code, "why", "why")


# --- wechatpy as an independent implementation --------------------------------------------------------------

ROUND_TRIP_MESSAGES = [
    b"",
    b"x",
    "<xml><Content><![CDATA[你好，世界]]></Content></xml>".encode(),
    b"a" * 12,  # 16 + 4 + 12 + 18 = 50
    b"a" * 26,  # = 64: a whole block of padding
    b"a" * 27,
    b"a" * 5000,
]


@pytest.mark.parametrize("message", ROUND_TRIP_MESSAGES, ids=lambda m: f"{len(m)}B")
def test_wechatpy_opens_what_we_seal_in_an_xml_envelope(v4: crypto.MessageCrypto, message: bytes) -> None:
    envelope = v4.encrypt(message, V4_TIMESTAMP, V4_NONCE)
    body = render_envelope(envelope, BodyFormat.XML)
    theirs = WeChatCrypto(V4_TOKEN, V4_KEY, V4_APPID)
    assert theirs.decrypt_message(body, envelope.msg_signature, V4_TIMESTAMP, V4_NONCE) == message.decode()


@pytest.mark.parametrize("message", ROUND_TRIP_MESSAGES, ids=lambda m: f"{len(m)}B")
def test_we_open_what_wechatpy_seals(v4: crypto.MessageCrypto, message: bytes) -> None:
    body = WeChatCrypto(V4_TOKEN, V4_KEY, V4_APPID).encrypt_message(message.decode(), V4_NONCE, V4_TIMESTAMP)
    fmt, document = parse_document(body.encode())
    assert fmt is BodyFormat.XML
    opened = v4.verify_and_decrypt(
        document["Encrypt"], document["MsgSignature"], document["TimeStamp"], V4_NONCE
    )
    assert opened == crypto.Opened(message, key_index=0)


def test_json_envelope_round_trip_with_wechatpy(v4: crypto.MessageCrypto) -> None:
    message = '{"ToUserName":"gh_97417a04a28d","MsgType":"text","Content":"你好"}'.encode()
    envelope = v4.encrypt(message, V4_TIMESTAMP, V4_NONCE)
    body = render_envelope(envelope, BodyFormat.JSON)
    sent = json.loads(body)
    assert sent["TimeStamp"] == int(V4_TIMESTAMP)
    theirs = WeChatCrypto(V4_TOKEN, V4_KEY, V4_APPID)
    assert (
        theirs.decrypt_message(sent, sent["MsgSignature"], str(sent["TimeStamp"]), sent["Nonce"])
        == message.decode()
    )
    # and back in: a JSON push body as the Mini Program sends it in safe mode
    fmt, document = parse_document(
        json.dumps({"ToUserName": "gh_97417a04a28d", "Encrypt": sent["Encrypt"]}).encode()
    )
    inbound = read_envelope(document)
    assert fmt is BodyFormat.JSON and inbound is not None
    opened = v4.verify_and_decrypt(
        inbound.encrypt, sent["MsgSignature"], str(sent["TimeStamp"]), sent["Nonce"]
    )
    assert opened.plaintext == message


# --- failing closed ---------------------------------------------------------------------------------------------


def test_a_signature_check_fails_closed_when_the_expected_signature_cannot_be_computed() -> None:
    # A part that is not text (a parameter the caller could not read) makes the expected value uncomputable:
    # that is a mismatch, never a pass and never an exception.
    given = crypto.signature("AAAAA", "1714036504", "1514711492")
    assert crypto.signature_matches(("AAAAA", None, "1514711492"), given) is False  # type: ignore[arg-type]


def test_a_part_that_is_not_valid_unicode_is_signed_over_its_code_units_without_raising() -> None:
    parts = ("AAAAA", "1714036504", "nonce\ud800")
    expected = hashlib.sha1("1714036504AAAAAnonce\ud800".encode("utf-8", "surrogatepass")).hexdigest()
    assert crypto.signature(*parts) == expected
    assert crypto.signature_matches(parts, expected) is True


@pytest.mark.parametrize(
    ("encrypt", "error", "reason", "code"),
    [
        pytest.param("not base64!", crypto.DecryptFailed, "Encrypt is not valid base64", -40010, id="base64"),
        pytest.param(
            base64.b64encode(b"x" * 15).decode(),
            crypto.DecryptFailed,
            "ciphertext length is not a positive multiple of 16",
            -40007,
            id="length",
        ),
        pytest.param(
            raw_ciphertext(b"\x00" * 32), crypto.DecryptFailed, "invalid padding", -40007, id="padding"
        ),
        pytest.param(
            raw_ciphertext(b"r" * 16 + b"\x00\x00\x00" + bytes([13]) * 13),
            crypto.DecryptFailed,
            "decrypted buffer too short",
            -40008,
            id="short",
        ),
        pytest.param(
            raw_ciphertext(b"r" * 16 + b"\x00\x00\x00\x00" + bytes([12]) * 12),
            crypto.AppIdMismatch,
            "decrypted appid does not match",
            -40005,
            id="header-only",
        ),
        pytest.param(
            raw_ciphertext(b"r" * 16 + b"\x00\x00\x00\x09" + b"12" + bytes([10]) * 10),
            crypto.DecryptFailed,
            "message length exceeds the decrypted buffer",
            -40008,
            id="length-field",
        ),
        pytest.param(
            raw_ciphertext(b"r" * 16 + b"\x00\x00\x00\x01" + b"x" + b"wxanother" + bytes([2]) * 2),
            crypto.AppIdMismatch,
            "decrypted appid does not match",
            -40005,
            id="appid",
        ),
    ],
)
def test_each_refusal_says_what_failed_with_the_librarys_code(
    v4: crypto.MessageCrypto, encrypt: str, error: type[crypto.CryptoError], reason: str, code: int
) -> None:
    with pytest.raises(error) as caught:
        open_signed(v4, encrypt)
    assert (caught.value.reason, caught.value.code, str(caught.value)) == (reason, code, reason)


def test_a_forged_msg_signature_is_refused_as_such(v4: crypto.MessageCrypto) -> None:
    with pytest.raises(crypto.SignatureMismatch) as caught:
        v4.verify_and_decrypt("abcd", "0" * 40, V4_TIMESTAMP, V4_NONCE)
    assert (caught.value.reason, caught.value.code) == ("msg_signature does not match", -40001)


def test_an_invalid_encoding_aes_key_is_refused_saying_what_a_key_looks_like() -> None:
    with pytest.raises(crypto.InvalidAesKey) as caught:
        crypto.aes_key_from_encoding_key("short")
    assert (caught.value.reason, caught.value.code) == (
        "EncodingAESKey must be exactly 43 characters of [A-Za-z0-9]",
        -40004,
    )


def test_the_message_length_is_a_big_endian_uint32(v4: crypto.MessageCrypto) -> None:
    envelope = v4.encrypt(b"x" * 258, V4_TIMESTAMP, V4_NONCE, random16=V4_RANDOM)
    plain = raw_plaintext(envelope.encrypt, V4_KEY)
    assert plain[16:20] == b"\x00\x00\x01\x02"
    assert open_signed(v4, envelope.encrypt).plaintext == b"x" * 258
