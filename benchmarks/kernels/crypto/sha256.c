/* SHA-256 (FIPS 180-4), streaming interface. */
#include "crypto.h"

static const uint32_t K[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

static void compress(uint32_t state[8], const uint8_t block[64])
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = crypto_load32_be(block + 4 * i);
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = crypto_rotr32(w[i - 15], 7) ^ crypto_rotr32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = crypto_rotr32(w[i - 2], 17) ^ crypto_rotr32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int i = 0; i < 64; i++) {
        uint32_t S1 = crypto_rotr32(e, 6) ^ crypto_rotr32(e, 11) ^ crypto_rotr32(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + S1 + ch + K[i] + w[i];
        uint32_t S0 = crypto_rotr32(a, 2) ^ crypto_rotr32(a, 13) ^ crypto_rotr32(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

void sha256_init(sha256_ctx *c)
{
    static const uint32_t iv[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                   0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    for (int i = 0; i < 8; i++)
        c->state[i] = iv[i];
    c->total_len = 0;
    c->block_len = 0;
}

void sha256_update(sha256_ctx *c, const uint8_t *data, size_t len)
{
    c->total_len += len;
    while (len > 0) {
        size_t take = 64u - c->block_len;
        if (take > len)
            take = len;
        for (size_t i = 0; i < take; i++)
            c->block[c->block_len + i] = data[i];
        c->block_len += (uint32_t)take;
        data += take;
        len -= take;
        if (c->block_len == 64u) {
            compress(c->state, c->block);
            c->block_len = 0;
        }
    }
}

void sha256_final(sha256_ctx *c, uint8_t digest[32])
{
    uint64_t bits = c->total_len * 8u;
    uint8_t pad[72];
    size_t pad_len = (c->block_len < 56u) ? 56u - c->block_len : 120u - c->block_len;
    pad[0] = 0x80;
    for (size_t i = 1; i < pad_len; i++)
        pad[i] = 0;
    for (int i = 0; i < 8; i++)
        pad[pad_len + (size_t)i] = (uint8_t)(bits >> (56 - 8 * i));
    uint64_t saved = c->total_len;
    sha256_update(c, pad, pad_len + 8u);
    c->total_len = saved;
    for (int i = 0; i < 8; i++)
        crypto_store32_be(digest + 4 * i, c->state[i]);
}
