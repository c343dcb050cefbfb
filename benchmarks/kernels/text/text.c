/* String processing over generated text: a tokenizer with a word-frequency
 * table, Knuth-Morris-Pratt search for several patterns, and Levenshtein edit
 * distance between pairs of generated strings. */
#include <stdint.h>
#include <stdio.h>

#ifndef TEXT_LEN
#define TEXT_LEN 3000000
#endif

#ifndef EDIT_LEN
#define EDIT_LEN 3000
#endif

#ifndef EDIT_PAIRS
#define EDIT_PAIRS 4
#endif

#define MAX_WORD 32
#define VOCAB_BITS 13
#define VOCAB_SIZE (1u << VOCAB_BITS)
#define MAX_PATTERN 16

static char text[TEXT_LEN + 1];
static char vocab_word[VOCAB_SIZE][MAX_WORD];
static uint32_t vocab_count[VOCAB_SIZE];
static uint32_t vocab_used;
static uint32_t edit_row[2][EDIT_LEN + 1];
static char edit_a[EDIT_LEN + 1];
static char edit_b[EDIT_LEN + 1];

static uint32_t rng_state = 0x2545F491u;

static uint32_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static const char *const syllables[] = {"ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "an", "el",
                                        "or", "is", "ta", "ph", "qu", "zo"};

static void generate_text(void)
{
    static const char punct[] = " ,.; ";
    uint32_t pos = 0;
    while (pos < TEXT_LEN) {
        uint32_t r = rng_next();
        /* Zipf-like word shapes: short words are common. */
        uint32_t syl = 1u + ((r & 3u) * ((r >> 2) & 1u)) % 3u;
        for (uint32_t s = 0; s < syl && pos + 2 < TEXT_LEN; s++) {
            const char *y = syllables[(rng_next() >> 7) % 16u];
            text[pos++] = y[0];
            text[pos++] = y[1];
        }
        if (pos < TEXT_LEN)
            text[pos++] = punct[(r >> 9) % 5u];
    }
    text[TEXT_LEN] = '\0';
}

static int is_letter(char c)
{
    return c >= 'a' && c <= 'z';
}

static uint32_t word_hash(const char *w, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)w[i]) * 16777619u;
    return h;
}

static int word_equal(const char *stored, const char *w, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (stored[i] != w[i])
            return 0;
    return stored[n] == '\0';
}

/* Returns 1 when the word is new; new words are dropped once the table is 3/4 full. */
static int vocab_add(const char *w, uint32_t n)
{
    uint32_t slot = word_hash(w, n) & (VOCAB_SIZE - 1u);
    while (vocab_count[slot] != 0) {
        if (word_equal(vocab_word[slot], w, n)) {
            vocab_count[slot]++;
            return 0;
        }
        slot = (slot + 1u) & (VOCAB_SIZE - 1u);
    }
    if (vocab_used >= VOCAB_SIZE / 4u * 3u)
        return 0;
    vocab_used++;
    for (uint32_t i = 0; i < n; i++)
        vocab_word[slot][i] = w[i];
    vocab_word[slot][n] = '\0';
    vocab_count[slot] = 1;
    return 1;
}

static void tokenize(uint32_t *tokens, uint32_t *distinct, uint32_t *longest)
{
    uint32_t i = 0;
    *tokens = *distinct = *longest = 0;
    while (i < TEXT_LEN) {
        while (i < TEXT_LEN && !is_letter(text[i]))
            i++;
        uint32_t start = i;
        while (i < TEXT_LEN && is_letter(text[i]))
            i++;
        uint32_t n = i - start;
        if (n == 0)
            break;
        if (n >= MAX_WORD)
            n = MAX_WORD - 1;
        (*tokens)++;
        *distinct += (uint32_t)vocab_add(text + start, n);
        if (n > *longest)
            *longest = n;
    }
}

static void kmp_table(const char *p, uint32_t m, uint32_t *fail)
{
    fail[0] = 0;
    uint32_t k = 0;
    for (uint32_t i = 1; i < m; i++) {
        while (k > 0 && p[i] != p[k])
            k = fail[k - 1];
        if (p[i] == p[k])
            k++;
        fail[i] = k;
    }
}

static uint32_t kmp_count(const char *p, uint32_t m)
{
    uint32_t fail[MAX_PATTERN];
    kmp_table(p, m, fail);
    uint32_t count = 0;
    uint32_t k = 0;
    for (uint32_t i = 0; i < TEXT_LEN; i++) {
        while (k > 0 && text[i] != p[k])
            k = fail[k - 1];
        if (text[i] == p[k])
            k++;
        if (k == m) {
            count++;
            k = fail[k - 1];
        }
    }
    return count;
}

static uint32_t min3(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t m = a < b ? a : b;
    return m < c ? m : c;
}

static uint32_t edit_distance(const char *a, uint32_t n, const char *b, uint32_t m)
{
    uint32_t *prev = edit_row[0];
    uint32_t *cur = edit_row[1];
    for (uint32_t j = 0; j <= m; j++)
        prev[j] = j;
    for (uint32_t i = 1; i <= n; i++) {
        cur[0] = i;
        for (uint32_t j = 1; j <= m; j++) {
            uint32_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            cur[j] = min3(sub, prev[j] + 1u, cur[j - 1] + 1u);
        }
        uint32_t *t = prev;
        prev = cur;
        cur = t;
    }
    return prev[m];
}

static void mutate_copy(const char *src, char *dst, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = rng_next();
        dst[i] = (r % 10u == 0u) ? (char)('a' + (r >> 8) % 26u) : src[i];
    }
    dst[n] = '\0';
}

int main(void)
{
    static const char *const patterns[] = {"kalo", "ana", "mine", "tota", "ph ", "quis", "elor", "vi,"};
    generate_text();

    uint32_t tokens, distinct, longest;
    tokenize(&tokens, &distinct, &longest);
    uint32_t top = 0;
    for (uint32_t s = 1; s < VOCAB_SIZE; s++)
        if (vocab_count[s] > vocab_count[top])
            top = s;
    printf("text TEXT_LEN=%d\n", TEXT_LEN);
    printf("tokens %u distinct %u longest %u top '%s' x%u\n", tokens, distinct, longest, vocab_word[top],
           vocab_count[top]);

    uint32_t total = 0;
    for (uint32_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
        uint32_t m = 0;
        while (patterns[p][m] != '\0')
            m++;
        uint32_t c = kmp_count(patterns[p], m);
        total += c * (p + 1u);
        printf("kmp '%s' %u\n", patterns[p], c);
    }
    printf("kmp weighted %u\n", total);

    uint64_t dist_sum = 0;
    for (uint32_t k = 0; k < EDIT_PAIRS; k++) {
        uint32_t off = (rng_next() % (TEXT_LEN - EDIT_LEN));
        for (uint32_t i = 0; i < EDIT_LEN; i++)
            edit_a[i] = text[off + i];
        edit_a[EDIT_LEN] = '\0';
        mutate_copy(edit_a, edit_b, EDIT_LEN);
        uint32_t d1 = edit_distance(edit_a, EDIT_LEN, edit_b, EDIT_LEN);
        uint32_t other = rng_next() % (TEXT_LEN - EDIT_LEN);
        uint32_t d2 = edit_distance(edit_a, EDIT_LEN, text + other, EDIT_LEN / 2);
        dist_sum += d1 * 3u + d2;
        printf("edit pair %u: %u %u\n", k, d1, d2);
    }
    printf("edit checksum %llu\n", (unsigned long long)dist_sum);
    return 0;
}
