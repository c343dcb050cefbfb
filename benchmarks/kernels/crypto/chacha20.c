/* ChaCha20 stream cipher (RFC 8439 block function), XORed over a buffer. */
#include "crypto.h"

#define QR(a, b, c, d)                                                                                       \
    do {                                                                                                     \
        a += b;                                                                                              \
        d = crypto_rotl32(d ^ a, 16);                                                                        \
        c += d;                                                                                              \
        b = crypto_rotl32(b ^ c, 12);                                                                        \
        a += b;                                                                                              \
        d = crypto_rotl32(d ^ a, 8);                                                                         \
        c += d;                                                                                              \
        b = crypto_rotl32(b ^ c, 7);                                                                         \
    } while (0)

static void chacha20_block(const uint32_t in[16], uint8_t out[64])
{
    uint32_t x[16];
    for (int i = 0; i < 16; i++)
        x[i] = in[i];
    for (int i = 0; i < 10; i++) {
        QR(x[0], x[4], x[8], x[12]);
        QR(x[1], x[5], x[9], x[13]);
        QR(x[2], x[6], x[10], x[14]);
        QR(x[3], x[7], x[11], x[15]);
        QR(x[0], x[5], x[10], x[15]);
        QR(x[1], x[6], x[11], x[12]);
        QR(x[2], x[7], x[8], x[13]);
        QR(x[3], x[4], x[9], x[14]);
    }
    for (int i = 0; i < 16; i++)
        crypto_store32_le(out + 4 * i, x[i] + in[i]);
}

void chacha20_xor(const uint8_t key[32], const uint8_t nonce[12], uint32_t counter, uint8_t *buf, size_t len)
{
    uint32_t st[16];
    st[0] = 0x61707865u;
    st[1] = 0x3320646eu;
    st[2] = 0x79622d32u;
    st[3] = 0x6b206574u;
    for (int i = 0; i < 8; i++)
        st[4 + i] = crypto_load32_le(key + 4 * i);
    st[12] = counter;
    for (int i = 0; i < 3; i++)
        st[13 + i] = crypto_load32_le(nonce + 4 * i);
    uint8_t ks[64];
    size_t off = 0;
    while (off < len) {
        chacha20_block(st, ks);
        st[12]++;
        size_t n = (len - off < 64u) ? len - off : 64u;
        for (size_t i = 0; i < n; i++)
            buf[off + i] ^= ks[i];
        off += n;
    }
}
