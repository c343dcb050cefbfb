/* Chain SHA-256, ChaCha20 and XTEA over a generated message ITERS times. */
#include <stdio.h>

#include "crypto.h"

static uint8_t message[MSG_BYTES];
static uint8_t original[MSG_BYTES];

static void print_hex(const char *label, const uint8_t *p, size_t n)
{
    printf("%s ", label);
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    printf("\n");
}

static uint8_t message_byte(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return (uint8_t)(*x >> 11);
}

static void generate(void)
{
    uint32_t x = 0xB7E15163u;
    for (size_t i = 0; i < MSG_BYTES; i++) {
        message[i] = message_byte(&x);
        original[i] = message[i];
    }
}

static size_t count_mismatches(const uint8_t *p)
{
    uint32_t x = 0xB7E15163u;
    size_t bad = 0;
    for (size_t i = 0; i < MSG_BYTES; i++)
        bad += p[i] != message_byte(&x);
    return bad;
}

static void digest_of(const uint8_t *p, size_t n, uint8_t out[32])
{
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, p, n);
    sha256_final(&c, out);
}

int main(void)
{
    uint8_t digest[32];
    uint8_t nonce[12] = {0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0};
    uint32_t xkey[4] = {0x01234567u, 0x89abcdefu, 0xfedcba98u, 0x76543210u};

    digest_of((const uint8_t *)"abc", 3, digest);
    print_hex("sha256(abc)", digest, 32);

    generate();
    digest_of(message, MSG_BYTES, digest);
    for (int it = 0; it < ITERS; it++) {
        /* The key of each round is the digest of the previous state. */
        chacha20_xor(digest, nonce, 1u + (uint32_t)it, message, MSG_BYTES);
        uint32_t iv[2] = {crypto_load32_le(digest), crypto_load32_le(digest + 4)};
        xtea_encrypt_cbc(xkey, iv, message, MSG_BYTES);
        xkey[it & 3] ^= crypto_load32_le(digest + 8);
        digest_of(message, MSG_BYTES, digest);
    }
    print_hex("chain digest", digest, 32);

    /* Round trip: decrypt the last XTEA layer and undo the last ChaCha20 layer. */
    uint8_t key_copy[32];
    for (int i = 0; i < 32; i++)
        key_copy[i] = (uint8_t)(i * 7 + 1);
    uint32_t iv_e[2] = {1u, 2u};
    uint32_t iv_d[2] = {1u, 2u};
    chacha20_xor(key_copy, nonce, 7u, original, MSG_BYTES);
    xtea_encrypt_cbc(xkey, iv_e, original, MSG_BYTES);
    xtea_decrypt_cbc(xkey, iv_d, original, MSG_BYTES);
    chacha20_xor(key_copy, nonce, 7u, original, MSG_BYTES);
    printf("round trip mismatches %zu\n", count_mismatches(original));
    printf("crypto MSG_BYTES=%d ITERS=%d\n", MSG_BYTES, ITERS);
    return 0;
}
