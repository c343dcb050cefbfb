/* SHA-256, ChaCha20 and XTEA: shared declarations for the crypto kernel. */
#ifndef CRYPTO_H
#define CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#ifndef MSG_BYTES
#define MSG_BYTES 65536
#endif

#ifndef ITERS
#define ITERS 80
#endif

typedef struct {
    uint32_t state[8];
    uint64_t total_len;
    uint8_t block[64];
    uint32_t block_len;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const uint8_t *data, size_t len);
void sha256_final(sha256_ctx *c, uint8_t digest[32]);

void chacha20_xor(const uint8_t key[32], const uint8_t nonce[12], uint32_t counter, uint8_t *buf, size_t len);

void xtea_encrypt_cbc(const uint32_t key[4], uint32_t iv[2], uint8_t *buf, size_t len);
void xtea_decrypt_cbc(const uint32_t key[4], uint32_t iv[2], uint8_t *buf, size_t len);

static inline uint32_t crypto_rotl32(uint32_t x, unsigned r)
{
    return (x << r) | (x >> ((32u - r) & 31u));
}

static inline uint32_t crypto_rotr32(uint32_t x, unsigned r)
{
    return (x >> r) | (x << ((32u - r) & 31u));
}

static inline uint32_t crypto_load32_le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void crypto_store32_le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t crypto_load32_be(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline void crypto_store32_be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
