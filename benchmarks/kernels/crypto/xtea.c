/* XTEA block cipher (64 rounds) in CBC mode over whole 8-byte blocks. */
#include "crypto.h"

#define XTEA_DELTA 0x9E3779B9u

static void xtea_encipher(const uint32_t key[4], uint32_t v[2])
{
    uint32_t v0 = v[0], v1 = v[1], sum = 0;
    for (int i = 0; i < 32; i++) {
        v0 += (((v1 << 4) ^ (v1 >> 5)) + v1) ^ (sum + key[sum & 3u]);
        sum += XTEA_DELTA;
        v1 += (((v0 << 4) ^ (v0 >> 5)) + v0) ^ (sum + key[(sum >> 11) & 3u]);
    }
    v[0] = v0;
    v[1] = v1;
}

static void xtea_decipher(const uint32_t key[4], uint32_t v[2])
{
    uint32_t v0 = v[0], v1 = v[1], sum = XTEA_DELTA * 32u;
    for (int i = 0; i < 32; i++) {
        v1 -= (((v0 << 4) ^ (v0 >> 5)) + v0) ^ (sum + key[(sum >> 11) & 3u]);
        sum -= XTEA_DELTA;
        v0 -= (((v1 << 4) ^ (v1 >> 5)) + v1) ^ (sum + key[sum & 3u]);
    }
    v[0] = v0;
    v[1] = v1;
}

void xtea_encrypt_cbc(const uint32_t key[4], uint32_t iv[2], uint8_t *buf, size_t len)
{
    for (size_t off = 0; off + 8u <= len; off += 8u) {
        uint32_t v[2] = {crypto_load32_le(buf + off) ^ iv[0], crypto_load32_le(buf + off + 4) ^ iv[1]};
        xtea_encipher(key, v);
        crypto_store32_le(buf + off, v[0]);
        crypto_store32_le(buf + off + 4, v[1]);
        iv[0] = v[0];
        iv[1] = v[1];
    }
}

void xtea_decrypt_cbc(const uint32_t key[4], uint32_t iv[2], uint8_t *buf, size_t len)
{
    for (size_t off = 0; off + 8u <= len; off += 8u) {
        uint32_t c0 = crypto_load32_le(buf + off);
        uint32_t c1 = crypto_load32_le(buf + off + 4);
        uint32_t v[2] = {c0, c1};
        xtea_decipher(key, v);
        crypto_store32_le(buf + off, v[0] ^ iv[0]);
        crypto_store32_le(buf + off + 4, v[1] ^ iv[1]);
        iv[0] = c0;
        iv[1] = c1;
    }
}
