/* Non-cryptographic hashing: FNV-1a (32 and 64 bit), MurmurHash3 x86_32 and a
 * 64-bit mixer, over generated variable-length keys, plus an open-addressing
 * hash table (linear probing) keyed by those hashes. */
#include <stdint.h>
#include <stdio.h>

#ifndef NKEYS
#define NKEYS 60000
#endif

#ifndef TABLE_BITS
#define TABLE_BITS 17
#endif

#ifndef ROUNDS
#define ROUNDS 12
#endif

#define MAX_KEY_LEN 48
#define TABLE_SIZE (1u << TABLE_BITS)

#if NKEYS >= TABLE_SIZE
#error "the table must have room for every key"
#endif

static uint8_t keys[NKEYS][MAX_KEY_LEN];
static uint32_t key_len[NKEYS];
static uint64_t table_hash[TABLE_SIZE];
static uint32_t table_count[TABLE_SIZE];

static uint64_t rng_state = 0x853C49E6748FEA9BULL;

static uint32_t pcg32(void)
{
    uint64_t old = rng_state;
    rng_state = old * 6364136223846793005ULL + 1442695040888963407ULL;
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

static uint32_t fnv1a32(const uint8_t *p, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

static uint64_t fnv1a64(const uint8_t *p, uint32_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (uint32_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint32_t rotl32(uint32_t x, uint32_t r)
{
    return (x << r) | (x >> (32u - r));
}

static uint32_t load32_le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint32_t fmix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

static uint32_t murmur3_32(const uint8_t *p, uint32_t n, uint32_t seed)
{
    const uint32_t c1 = 0xCC9E2D51u;
    const uint32_t c2 = 0x1B873593u;
    uint32_t h = seed;
    uint32_t blocks = n / 4u;
    for (uint32_t i = 0; i < blocks; i++) {
        uint32_t k = load32_le(p + 4u * i);
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
        h = rotl32(h, 13);
        h = h * 5u + 0xE6546B64u;
    }
    const uint8_t *tail = p + 4u * blocks;
    uint32_t k = 0;
    switch (n & 3u) {
    case 3:
        k ^= (uint32_t)tail[2] << 16;
        /* fall through */
    case 2:
        k ^= (uint32_t)tail[1] << 8;
        /* fall through */
    case 1:
        k ^= tail[0];
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
    }
    h ^= n;
    return fmix32(h);
}

static uint64_t mix64(uint64_t a, uint64_t b)
{
    uint64_t x = a ^ (b + 0x9E3779B97F4A7C15ULL + (a << 6) + (a >> 2));
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDULL;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ULL;
    x ^= x >> 33;
    return x;
}

static void generate_keys(void)
{
    for (uint32_t i = 0; i < NKEYS; i++) {
        uint32_t len = 4u + pcg32() % (MAX_KEY_LEN - 4u);
        key_len[i] = len;
        /* Shared prefixes make collisions among weak hashes likelier. */
        for (uint32_t j = 0; j < len; j++)
            keys[i][j] = (j < 3u) ? (uint8_t)('a' + (i % 7u)) : (uint8_t)(32u + pcg32() % 95u);
        for (uint32_t j = len; j < MAX_KEY_LEN; j++)
            keys[i][j] = 0;
    }
}

/* Insert or bump; returns the number of probes taken. */
static uint32_t table_insert(uint64_t h)
{
    uint32_t slot = (uint32_t)(h >> (64 - TABLE_BITS));
    uint32_t probes = 1;
    while (table_count[slot] != 0 && table_hash[slot] != h) {
        slot = (slot + 1u) & (TABLE_SIZE - 1u);
        probes++;
    }
    table_hash[slot] = h;
    table_count[slot]++;
    return probes;
}

int main(void)
{
    generate_keys();
    uint32_t acc32 = 0;
    uint64_t acc64 = 0;
    uint64_t probes = 0;
    for (uint32_t round = 0; round < ROUNDS; round++) {
        for (uint32_t i = 0; i < NKEYS; i++) {
            const uint8_t *k = keys[i];
            uint32_t n = key_len[i];
            uint32_t a = fnv1a32(k, n);
            uint32_t b = murmur3_32(k, n, 0x9747B28Cu + round);
            uint64_t c = fnv1a64(k, n);
            uint64_t m = mix64(c, ((uint64_t)a << 32) | b);
            acc32 = rotl32(acc32, 5) ^ a ^ (b * 3u);
            acc64 += m;
            probes += table_insert(mix64(c, 0x5851F42D4C957F2DULL));
        }
    }
    uint32_t used = 0;
    uint32_t max_count = 0;
    for (uint32_t s = 0; s < TABLE_SIZE; s++) {
        if (table_count[s] != 0)
            used++;
        if (table_count[s] > max_count)
            max_count = table_count[s];
    }
    printf("hashing NKEYS=%d ROUNDS=%d\n", NKEYS, ROUNDS);
    printf("acc32 %08x acc64 %016llx\n", acc32, (unsigned long long)acc64);
    printf("murmur('hello',0) %08x fnv1a32('hello') %08x\n", murmur3_32((const uint8_t *)"hello", 5, 0),
           fnv1a32((const uint8_t *)"hello", 5));
    printf("table used %u max_count %u probes %llu\n", used, max_count, (unsigned long long)probes);
    return 0;
}
