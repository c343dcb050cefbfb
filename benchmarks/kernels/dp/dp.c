/* Dynamic programming: longest common subsequence, 0/1 knapsack, longest
 * increasing subsequence (patience sorting) and matrix-chain ordering. */
#include <stdint.h>
#include <stdio.h>

#ifndef LCS_LEN
#define LCS_LEN 8000
#endif

#ifndef ITEMS
#define ITEMS 200
#endif

#ifndef CAPACITY
#define CAPACITY 80000
#endif

#ifndef LIS_LEN
#define LIS_LEN 200000
#endif

#ifndef CHAIN
#define CHAIN 160
#endif

#if LCS_LEN > 65535
#error "LCS lengths are stored in 16 bits"
#endif

static char seq_a[LCS_LEN];
static char seq_b[LCS_LEN];
static uint16_t lcs_row[2][LCS_LEN + 1];
static uint32_t weight[ITEMS];
static uint32_t value[ITEMS];
static uint32_t best[CAPACITY + 1];
static uint32_t lis_in[LIS_LEN];
static uint32_t lis_tails[LIS_LEN];
static uint32_t dims[CHAIN + 1];
static uint64_t chain_cost[CHAIN][CHAIN];

static uint64_t rng_state = 0xD1B54A32D192ED03ULL;

static uint32_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static uint32_t lcs(void)
{
    uint16_t *prev = lcs_row[0];
    uint16_t *cur = lcs_row[1];
    for (int j = 0; j <= LCS_LEN; j++)
        prev[j] = 0;
    for (int i = 1; i <= LCS_LEN; i++) {
        cur[0] = 0;
        for (int j = 1; j <= LCS_LEN; j++) {
            if (seq_a[i - 1] == seq_b[j - 1])
                cur[j] = (uint16_t)(prev[j - 1] + 1u);
            else
                cur[j] = prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
        }
        uint16_t *t = prev;
        prev = cur;
        cur = t;
    }
    return prev[LCS_LEN];
}

static uint32_t knapsack(void)
{
    for (int c = 0; c <= CAPACITY; c++)
        best[c] = 0;
    for (int i = 0; i < ITEMS; i++)
        for (int c = CAPACITY; c >= (int)weight[i]; c--) {
            uint32_t with = best[c - (int)weight[i]] + value[i];
            if (with > best[c])
                best[c] = with;
        }
    return best[CAPACITY];
}

static uint32_t lis(void)
{
    uint32_t len = 0;
    for (int i = 0; i < LIS_LEN; i++) {
        uint32_t v = lis_in[i];
        uint32_t lo = 0, hi = len;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2u;
            if (lis_tails[mid] < v)
                lo = mid + 1u;
            else
                hi = mid;
        }
        lis_tails[lo] = v;
        if (lo == len)
            len++;
    }
    return len;
}

static uint64_t matrix_chain(void)
{
    for (int i = 0; i < CHAIN; i++)
        chain_cost[i][i] = 0;
    for (int span = 1; span < CHAIN; span++)
        for (int i = 0; i + span < CHAIN; i++) {
            int j = i + span;
            uint64_t bestc = UINT64_MAX;
            for (int k = i; k < j; k++) {
                uint64_t c = chain_cost[i][k] + chain_cost[k + 1][j] + (uint64_t)dims[i] * dims[k + 1] * dims[j + 1];
                if (c < bestc)
                    bestc = c;
            }
            chain_cost[i][j] = bestc;
        }
    return chain_cost[0][CHAIN - 1];
}

int main(void)
{
    for (int i = 0; i < LCS_LEN; i++) {
        seq_a[i] = (char)('A' + rng_next() % 4u);
        seq_b[i] = (i % 3 == 0) ? (char)('A' + rng_next() % 4u) : seq_a[i];
    }
    for (int i = 0; i < ITEMS; i++) {
        weight[i] = 1u + rng_next() % 400u;
        value[i] = 1u + rng_next() % 1000u;
    }
    for (int i = 0; i < LIS_LEN; i++)
        lis_in[i] = rng_next() % 1000000u + (uint32_t)i * 3u;
    for (int i = 0; i <= CHAIN; i++)
        dims[i] = 5u + rng_next() % 95u;

    printf("dp LCS_LEN=%d ITEMS=%d CAPACITY=%d LIS_LEN=%d CHAIN=%d\n", LCS_LEN, ITEMS, CAPACITY, LIS_LEN, CHAIN);
    printf("lcs %u\n", lcs());
    printf("knapsack %u\n", knapsack());
    printf("lis %u\n", lis());
    printf("matrix chain %llu\n", (unsigned long long)matrix_chain());
    return 0;
}
