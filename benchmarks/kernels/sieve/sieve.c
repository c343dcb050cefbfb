/* Bitset sieve of Eratosthenes over odd numbers, then prime statistics:
 * count, sum, twin primes, largest gap, and a Miller-Rabin cross-check. */
#include <stdint.h>
#include <stdio.h>

#ifndef LIMIT
#define LIMIT 40000000u
#endif

#define ODD_COUNT ((LIMIT + 1u) / 2u) /* bit i stands for 2i + 1 */
#define WORDS ((ODD_COUNT + 63u) / 64u)

static uint64_t composite[WORDS];

static int test_bit(uint32_t i)
{
    return (int)((composite[i >> 6] >> (i & 63u)) & 1u);
}

static void set_bit(uint32_t i)
{
    composite[i >> 6] |= (uint64_t)1 << (i & 63u);
}

static int is_prime_sieved(uint32_t n)
{
    if (n < 2u)
        return 0;
    if (n % 2u == 0u)
        return n == 2u;
    return !test_bit(n / 2u);
}

static void sieve(void)
{
    set_bit(0); /* 1 is not prime */
    for (uint32_t p = 3; (uint64_t)p * p <= LIMIT; p += 2) {
        if (test_bit(p / 2u))
            continue;
        for (uint32_t m = p * p; m <= LIMIT; m += 2u * p)
            set_bit(m / 2u);
    }
}

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m)
{
    return (a * b) % m; /* operands stay below 2^32 */
}

static uint64_t powmod(uint64_t b, uint64_t e, uint64_t m)
{
    uint64_t r = 1;
    b %= m;
    while (e > 0) {
        if (e & 1u)
            r = mulmod(r, b, m);
        b = mulmod(b, b, m);
        e >>= 1;
    }
    return r;
}

/* Deterministic for n < 4,759,123,141 with these witnesses. */
static int miller_rabin(uint32_t n)
{
    static const uint32_t witnesses[3] = {2, 7, 61};
    if (n < 2u)
        return 0;
    for (int i = 0; i < 3; i++)
        if (n == witnesses[i])
            return 1;
    if (n % 2u == 0u)
        return 0;
    uint32_t d = n - 1u;
    int s = 0;
    while ((d & 1u) == 0u) {
        d >>= 1;
        s++;
    }
    for (int i = 0; i < 3; i++) {
        uint64_t x = powmod(witnesses[i], d, n);
        if (x == 1u || x == n - 1u)
            continue;
        int composite_witness = 1;
        for (int r = 1; r < s; r++) {
            x = mulmod(x, x, n);
            if (x == n - 1u) {
                composite_witness = 0;
                break;
            }
        }
        if (composite_witness)
            return 0;
    }
    return 1;
}

int main(void)
{
    sieve();
    uint32_t count = 0, twins = 0, max_gap = 0, gap_at = 0, prev = 0;
    uint64_t sum = 0;
    for (uint32_t n = 2; n <= LIMIT; n++) {
        if (!is_prime_sieved(n))
            continue;
        count++;
        sum += n;
        if (prev != 0) {
            if (n - prev == 2u)
                twins++;
            if (n - prev > max_gap) {
                max_gap = n - prev;
                gap_at = prev;
            }
        }
        prev = n;
    }
    uint32_t disagreements = 0, checked = 0;
    uint32_t x = 0x12345678u;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        uint32_t n = x % LIMIT;
        checked++;
        disagreements += (uint32_t)(miller_rabin(n) != is_prime_sieved(n));
    }
    printf("sieve LIMIT=%u\n", (unsigned)LIMIT);
    printf("primes %u sum %llu largest %u\n", count, (unsigned long long)sum, prev);
    printf("twins %u max_gap %u after %u\n", twins, max_gap, gap_at);
    printf("miller-rabin checked %u disagreements %u\n", checked, disagreements);
    return 0;
}
