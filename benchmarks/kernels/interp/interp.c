/* A small stack-based bytecode virtual machine running three generated
 * programs (an LCG hash loop, trial-division prime counting, a GCD sum), and a
 * table-free lexer state machine over generated source text. */
#include <stdint.h>
#include <stdio.h>

#ifndef LCG_ITERS
#define LCG_ITERS 600000
#endif

#ifndef PRIME_LIMIT
#define PRIME_LIMIT 50000
#endif

#ifndef GCD_N
#define GCD_N 120
#endif

#ifndef LEX_BYTES
#define LEX_BYTES 600000
#endif

enum op {
    OP_HALT,
    OP_PUSH,
    OP_LOAD,
    OP_STORE,
    OP_DUP,
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_MOD,
    OP_XOR,
    OP_SHR,
    OP_LT,
    OP_GT,
    OP_JMP,
    OP_JNZ,
    OP_JZ,
};

#define MAX_CODE 256
#define MAX_LABELS 16
#define STACK_DEPTH 32
#define NREGS 8

typedef struct {
    uint32_t code[MAX_CODE];
    uint32_t len;
    uint32_t label_at[MAX_LABELS];
    uint32_t fixup_at[MAX_CODE];
    uint32_t fixup_label[MAX_CODE];
    uint32_t nfixups;
} program_t;

typedef struct {
    uint32_t result;
    uint64_t steps;
    int error;
} vm_result;

/* ---- assembler -------------------------------------------------------- */

static void emit(program_t *p, uint32_t word)
{
    if (p->len < MAX_CODE)
        p->code[p->len++] = word;
}

static void op_arg(program_t *p, enum op o, uint32_t arg)
{
    emit(p, (uint32_t)o);
    emit(p, arg);
}

static void op0(program_t *p, enum op o)
{
    emit(p, (uint32_t)o);
}

static void label(program_t *p, uint32_t l)
{
    p->label_at[l] = p->len;
}

static void jump(program_t *p, enum op o, uint32_t l)
{
    emit(p, (uint32_t)o);
    p->fixup_at[p->nfixups] = p->len;
    p->fixup_label[p->nfixups++] = l;
    emit(p, 0);
}

static void link_program(program_t *p)
{
    for (uint32_t i = 0; i < p->nfixups; i++)
        p->code[p->fixup_at[i]] = p->label_at[p->fixup_label[i]];
}

/* ---- interpreter ------------------------------------------------------ */

static vm_result run(const program_t *p)
{
    uint32_t stack[STACK_DEPTH];
    uint32_t regs[NREGS] = {0};
    uint32_t sp = 0;
    uint32_t pc = 0;
    vm_result res = {0, 0, 0};
#define NEED(n)                                                                                              \
    if (sp < (n) || pc + 1 > p->len) {                                                                       \
        res.error = 1;                                                                                       \
        return res;                                                                                          \
    }
#define ROOM()                                                                                               \
    if (sp >= STACK_DEPTH) {                                                                                 \
        res.error = 2;                                                                                       \
        return res;                                                                                          \
    }
    for (;;) {
        if (pc >= p->len) {
            res.error = 3;
            return res;
        }
        uint32_t op = p->code[pc++];
        res.steps++;
        uint32_t a, b;
        switch (op) {
        case OP_HALT:
            res.result = sp > 0 ? stack[sp - 1] : 0;
            return res;
        case OP_PUSH:
            NEED(0);
            ROOM();
            stack[sp++] = p->code[pc++];
            break;
        case OP_LOAD:
            NEED(0);
            ROOM();
            stack[sp++] = regs[p->code[pc++] % NREGS];
            break;
        case OP_STORE:
            NEED(1);
            regs[p->code[pc++] % NREGS] = stack[--sp];
            break;
        case OP_DUP:
            NEED(1);
            ROOM();
            stack[sp] = stack[sp - 1];
            sp++;
            break;
        case OP_JMP:
            NEED(0);
            pc = p->code[pc];
            break;
        case OP_JNZ:
        case OP_JZ:
            NEED(1);
            a = stack[--sp];
            pc = ((a != 0) == (op == OP_JNZ)) ? p->code[pc] : pc + 1;
            break;
        default:
            if (op > OP_JZ || sp < 2) {
                res.error = 4;
                return res;
            }
            b = stack[--sp];
            a = stack[sp - 1];
            switch (op) {
            case OP_ADD: a += b; break;
            case OP_SUB: a -= b; break;
            case OP_MUL: a *= b; break;
            case OP_MOD: a = b ? a % b : 0; break;
            case OP_XOR: a ^= b; break;
            case OP_SHR: a >>= (b & 31u); break;
            case OP_LT: a = a < b; break;
            default: a = a > b; break; /* OP_GT */
            }
            stack[sp - 1] = a;
        }
    }
#undef NEED
#undef ROOM
}

/* ---- programs --------------------------------------------------------- */

static void build_lcg(program_t *p, uint32_t iters)
{
    op_arg(p, OP_PUSH, iters), op_arg(p, OP_STORE, 0);
    op_arg(p, OP_PUSH, 1), op_arg(p, OP_STORE, 1);
    op_arg(p, OP_PUSH, 0), op_arg(p, OP_STORE, 2);
    label(p, 0);
    op_arg(p, OP_LOAD, 1), op_arg(p, OP_PUSH, 1103515245u), op0(p, OP_MUL);
    op_arg(p, OP_PUSH, 12345u), op0(p, OP_ADD), op_arg(p, OP_STORE, 1);
    op_arg(p, OP_LOAD, 2), op_arg(p, OP_LOAD, 1), op_arg(p, OP_PUSH, 16), op0(p, OP_SHR);
    op0(p, OP_XOR), op_arg(p, OP_PUSH, 3), op0(p, OP_MUL), op_arg(p, OP_STORE, 2);
    op_arg(p, OP_LOAD, 0), op_arg(p, OP_PUSH, 1), op0(p, OP_SUB), op0(p, OP_DUP), op_arg(p, OP_STORE, 0);
    jump(p, OP_JNZ, 0);
    op_arg(p, OP_LOAD, 2), op0(p, OP_HALT);
}

/* r0 = n, r1 = divisor, r2 = is-prime flag, r3 = count. */
static void build_primes(program_t *p, uint32_t limit)
{
    enum { OUTER, INNER, NEXT_D, DONE };
    op_arg(p, OP_PUSH, 2), op_arg(p, OP_STORE, 0);
    op_arg(p, OP_PUSH, 0), op_arg(p, OP_STORE, 3);
    label(p, OUTER);
    op_arg(p, OP_PUSH, 2), op_arg(p, OP_STORE, 1);
    op_arg(p, OP_PUSH, 1), op_arg(p, OP_STORE, 2);
    label(p, INNER);
    op_arg(p, OP_LOAD, 1), op_arg(p, OP_LOAD, 1), op0(p, OP_MUL), op_arg(p, OP_LOAD, 0), op0(p, OP_GT);
    jump(p, OP_JNZ, DONE);
    op_arg(p, OP_LOAD, 0), op_arg(p, OP_LOAD, 1), op0(p, OP_MOD);
    jump(p, OP_JNZ, NEXT_D);
    op_arg(p, OP_PUSH, 0), op_arg(p, OP_STORE, 2);
    jump(p, OP_JMP, DONE);
    label(p, NEXT_D);
    op_arg(p, OP_LOAD, 1), op_arg(p, OP_PUSH, 1), op0(p, OP_ADD), op_arg(p, OP_STORE, 1);
    jump(p, OP_JMP, INNER);
    label(p, DONE);
    op_arg(p, OP_LOAD, 3), op_arg(p, OP_LOAD, 2), op0(p, OP_ADD), op_arg(p, OP_STORE, 3);
    op_arg(p, OP_LOAD, 0), op_arg(p, OP_PUSH, 1), op0(p, OP_ADD), op0(p, OP_DUP), op_arg(p, OP_STORE, 0);
    op_arg(p, OP_PUSH, limit + 1u), op0(p, OP_LT);
    jump(p, OP_JNZ, OUTER);
    op_arg(p, OP_LOAD, 3), op0(p, OP_HALT);
}

/* Sum of gcd(i, j) for 1 <= i, j <= n: r0 = i, r1 = j, r2 = a, r3 = b, r4 = sum. */
static void build_gcd_sum(program_t *p, uint32_t n)
{
    enum { LOOP_I, LOOP_J, EUCLID, GCD_DONE };
    op_arg(p, OP_PUSH, 0), op_arg(p, OP_STORE, 4);
    op_arg(p, OP_PUSH, n), op_arg(p, OP_STORE, 0);
    label(p, LOOP_I);
    op_arg(p, OP_PUSH, n), op_arg(p, OP_STORE, 1);
    label(p, LOOP_J);
    op_arg(p, OP_LOAD, 0), op_arg(p, OP_STORE, 2);
    op_arg(p, OP_LOAD, 1), op_arg(p, OP_STORE, 3);
    label(p, EUCLID);
    op_arg(p, OP_LOAD, 3);
    jump(p, OP_JZ, GCD_DONE);
    op_arg(p, OP_LOAD, 2), op_arg(p, OP_LOAD, 3), op0(p, OP_MOD);
    op_arg(p, OP_LOAD, 3), op_arg(p, OP_STORE, 2), op_arg(p, OP_STORE, 3);
    jump(p, OP_JMP, EUCLID);
    label(p, GCD_DONE);
    op_arg(p, OP_LOAD, 4), op_arg(p, OP_LOAD, 2), op0(p, OP_ADD), op_arg(p, OP_STORE, 4);
    op_arg(p, OP_LOAD, 1), op_arg(p, OP_PUSH, 1), op0(p, OP_SUB), op0(p, OP_DUP), op_arg(p, OP_STORE, 1);
    jump(p, OP_JNZ, LOOP_J);
    op_arg(p, OP_LOAD, 0), op_arg(p, OP_PUSH, 1), op0(p, OP_SUB), op0(p, OP_DUP), op_arg(p, OP_STORE, 0);
    jump(p, OP_JNZ, LOOP_I);
    op_arg(p, OP_LOAD, 4), op0(p, OP_HALT);
}

/* ---- lexer state machine ---------------------------------------------- */

enum lex_state { S_START, S_IDENT, S_NUMBER, S_STRING, S_ESCAPE, S_SLASH, S_COMMENT, S_COMMENT_STAR };
enum token_kind { T_IDENT, T_NUMBER, T_STRING, T_COMMENT, T_OPERATOR, T_KINDS };

static char source[LEX_BYTES];

static uint32_t lex_rng = 0x9E3779B9u;

static uint32_t lex_next(void)
{
    lex_rng ^= lex_rng << 13;
    lex_rng ^= lex_rng >> 17;
    lex_rng ^= lex_rng << 5;
    return lex_rng;
}

static void put(uint32_t *pos, char c)
{
    if (*pos < LEX_BYTES)
        source[(*pos)++] = c;
}

static void generate_source(void)
{
    static const char ops[] = "+-*=<>(){};,";
    uint32_t pos = 0;
    while (pos < LEX_BYTES) {
        uint32_t r = lex_next();
        uint32_t n = 1u + (r >> 8) % 8u;
        switch (r % 6u) {
        case 0:
        case 1:
            for (uint32_t i = 0; i < n; i++)
                put(&pos, (char)((i == 0 ? 'a' : (i % 2 ? '0' : 'a')) + (lex_next() % 10u)));
            break;
        case 2:
            for (uint32_t i = 0; i < n; i++)
                put(&pos, (char)('0' + lex_next() % 10u));
            break;
        case 3:
            put(&pos, '"');
            for (uint32_t i = 0; i < n; i++)
                if (lex_next() % 5u == 0u) {
                    put(&pos, '\\');
                    put(&pos, '"');
                } else {
                    put(&pos, (char)('a' + lex_next() % 26u));
                }
            put(&pos, '"');
            break;
        case 4:
            put(&pos, '/');
            put(&pos, '*');
            for (uint32_t i = 0; i < n; i++)
                put(&pos, (lex_next() % 4u == 0u) ? '*' : 'x');
            put(&pos, '*');
            put(&pos, '/');
            break;
        default:
            put(&pos, ops[lex_next() % 12u]);
        }
        put(&pos, (r >> 20) % 3u == 0u ? '\n' : ' ');
    }
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || c == '_';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void lex(uint32_t counts[T_KINDS], uint32_t *lines)
{
    enum lex_state s = S_START;
    for (uint32_t i = 0; i <= LEX_BYTES; i++) {
        char c = i < LEX_BYTES ? source[i] : ' ';
        if (c == '\n')
            (*lines)++;
        switch (s) {
        case S_IDENT:
            if (is_alpha(c) || is_digit(c))
                continue;
            counts[T_IDENT]++;
            s = S_START;
            break;
        case S_NUMBER:
            if (is_digit(c))
                continue;
            counts[T_NUMBER]++;
            s = S_START;
            break;
        case S_STRING:
            if (c == '\\')
                s = S_ESCAPE;
            else if (c == '"') {
                counts[T_STRING]++;
                s = S_START;
            }
            continue;
        case S_ESCAPE:
            s = S_STRING;
            continue;
        case S_SLASH:
            if (c == '*') {
                s = S_COMMENT;
                continue;
            }
            counts[T_OPERATOR]++;
            s = S_START;
            break;
        case S_COMMENT:
            if (c == '*')
                s = S_COMMENT_STAR;
            continue;
        case S_COMMENT_STAR:
            if (c == '/') {
                counts[T_COMMENT]++;
                s = S_START;
            } else if (c != '*')
                s = S_COMMENT;
            continue;
        case S_START:
            break;
        }
        /* S_START: classify the current character. */
        if (is_alpha(c))
            s = S_IDENT;
        else if (is_digit(c))
            s = S_NUMBER;
        else if (c == '"')
            s = S_STRING;
        else if (c == '/')
            s = S_SLASH;
        else if (c != ' ' && c != '\n')
            counts[T_OPERATOR]++;
    }
}

static void report(const char *name, const program_t *p)
{
    vm_result r = run(p);
    printf("%-7s result %u steps %llu error %d\n", name, r.result, (unsigned long long)r.steps, r.error);
}

static program_t programs[3];

int main(void)
{
    build_lcg(&programs[0], LCG_ITERS);
    build_primes(&programs[1], PRIME_LIMIT);
    build_gcd_sum(&programs[2], GCD_N);
    for (int i = 0; i < 3; i++)
        link_program(&programs[i]);
    printf("interp LCG_ITERS=%d PRIME_LIMIT=%d GCD_N=%d LEX_BYTES=%d\n", LCG_ITERS, PRIME_LIMIT, GCD_N, LEX_BYTES);
    report("lcg", &programs[0]);
    report("primes", &programs[1]);
    report("gcdsum", &programs[2]);

    generate_source();
    uint32_t counts[T_KINDS] = {0};
    uint32_t lines = 0;
    lex(counts, &lines);
    printf("lexer lines %u ident %u number %u string %u comment %u operator %u\n", lines, counts[T_IDENT],
           counts[T_NUMBER], counts[T_STRING], counts[T_COMMENT], counts[T_OPERATOR]);
    return 0;
}
