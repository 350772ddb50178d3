#!/usr/bin/python3
"""Known-answer ESP packets for tests/unit/esp_test.cpp, built independently of the C++ code
with python3-cryptography from the RFC text: RFC 4303 framing (SPI | seq | IV | ciphertext |
ICV, padding 1, 2, 3, ...), RFC 4106 (AES-GCM-16: nonce = salt | 8-byte IV, AAD = SPI | seq,
salt = the last 4 bytes of the KEYMAT key) and RFC 3602 + RFC 4868 (AES-CBC, ICV =
HMAC-SHA-256 over SPI | seq | IV | ciphertext, truncated to 16 bytes). Run it to print them."""
import hashlib
import hmac

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def plaintext(inner, next_header, block):
    pad = (block - (len(inner) + 2) % block) % block
    return inner + bytes(range(1, pad + 1)) + bytes([pad, next_header])


def gcm(key_salt, spi, seq, iv, inner, next_header):
    key, salt = key_salt[:-4], key_salt[-4:]
    head = spi.to_bytes(4, "big") + seq.to_bytes(4, "big")
    sealed = AESGCM(key).encrypt(salt + iv, plaintext(inner, next_header, 4), head)
    return head + iv + sealed


def cbc(key, integ, spi, seq, iv, inner, next_header):
    head = spi.to_bytes(4, "big") + seq.to_bytes(4, "big")
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    body = head + iv + enc.update(plaintext(inner, next_header, 16)) + enc.finalize()
    return body + hmac.new(integ, body, hashlib.sha256).digest()[:16]


# The GCM spec's test key/IV (McGrew & Viega, test case 2-4) as KEYMAT: AES key | salt.
GCM_KEY = bytes.fromhex("feffe9928665731c6d6a8f9467308308" + "cafebabe")
GCM_IV = bytes.fromhex("facedbaddecaf888")
CBC_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
CBC_INTEG = bytes(range(0x20, 0x40))
CBC_IV = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
INNER = bytes.fromhex("4500001c000140004011b57bc6138001c612ff01c35104d2000815e1")  # any bytes

print("gcm", gcm(GCM_KEY, 0x0000A5F8, 10, GCM_IV, INNER, 4).hex())
print("gcm_empty_none", gcm(GCM_KEY, 0x12345678, 1, GCM_IV, b"", 59).hex())
print("cbc", cbc(CBC_KEY, CBC_INTEG, 0x00004321, 1, CBC_IV, INNER, 4).hex())
print("cbc_14", cbc(CBC_KEY, CBC_INTEG, 0x00004321, 2, CBC_IV, INNER[:14], 4).hex())


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_udp(src, dst, sport, dport, payload, ip_id):
    udp_len = 8 + len(payload)
    ip = bytearray(bytes([0x45, 0]) + (20 + udp_len).to_bytes(2, "big") + ip_id.to_bytes(2, "big") +
                   b"\x40\x00\x40\x11\0\0" + bytes(src) + bytes(dst))
    ip[10:12] = csum(bytes(ip)).to_bytes(2, "big")
    udp = sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + udp_len.to_bytes(2, "big") + b"\0\0" + payload
    c = csum(bytes(src) + bytes(dst) + b"\0\x11" + udp_len.to_bytes(2, "big") + udp) or 0xFFFF
    return bytes(ip) + udp[:6] + c.to_bytes(2, "big") + udp[8:]


print("ipv4_udp", ipv4_udp([198, 19, 128, 1], [198, 18, 255, 1], 50000, 7, b"ping!", 1).hex())
