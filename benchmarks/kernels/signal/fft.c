/* Iterative radix-2 decimation-in-time FFT with a precomputed twiddle table. */
#include "dsp.h"

void fft_twiddles(complex_t *w, int n)
{
    for (int k = 0; k < n / 2; k++) {
        double angle = -2.0 * DSP_PI * (double)k / (double)n; /* in (-pi, 0] */
        w[k].re = dsp_cos(angle);
        w[k].im = dsp_sin(angle);
    }
}

static void bit_reverse(complex_t *a, int n)
{
    for (int i = 1, j = 0; i < n; i++) {
        int bit = n >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j ^= bit;
        if (i < j) {
            complex_t t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}

void fft(complex_t *a, const complex_t *w, int n, int inverse)
{
    bit_reverse(a, n);
    for (int len = 2; len <= n; len <<= 1) {
        int half = len / 2;
        int step = n / len;
        for (int start = 0; start < n; start += len) {
            for (int k = 0; k < half; k++) {
                complex_t tw = w[k * step];
                if (inverse)
                    tw.im = -tw.im;
                complex_t u = a[start + k];
                complex_t v = a[start + k + half];
                complex_t t = {v.re * tw.re - v.im * tw.im, v.re * tw.im + v.im * tw.re};
                a[start + k].re = u.re + t.re;
                a[start + k].im = u.im + t.im;
                a[start + k + half].re = u.re - t.re;
                a[start + k + half].im = u.im - t.im;
            }
        }
    }
    if (inverse)
        for (int i = 0; i < n; i++) {
            a[i].re /= n;
            a[i].im /= n;
        }
}
