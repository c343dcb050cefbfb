/* Filter generated signal blocks with FIR filters and analyse them with an FFT. */
#include <stdio.h>

#include "dsp.h"

static double signal_in[N];
static double filtered[N];
static int16_t q_in[N];
static int16_t q_out[N];
static complex_t spectrum[N];
static complex_t twiddle[N / 2];
static double taps_d[TAPS];
static int16_t taps_q[TAPS];

static uint32_t rng_state = 0x1F123BB5u;

static double noise(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (double)((rng_state >> 8) & 0xFFFFu) / 32768.0 - 1.0;
}

static void generate_block(int b)
{
    /* Phase accumulators keep the angles inside [-pi, pi]. */
    double f1 = 37.0 + b, f2 = 1201.0 + 3 * b;
    for (int i = 0; i < N; i++) {
        double p1 = 2.0 * DSP_PI * (double)((int)(f1 * i) % N) / N - DSP_PI;
        double p2 = 2.0 * DSP_PI * (double)((int)(f2 * i) % N) / N - DSP_PI;
        signal_in[i] = dsp_sin(p1) + 0.5 * dsp_sin(p2) + 0.1 * noise();
        double q = signal_in[i] * 8000.0;
        q_in[i] = (int16_t)(int)q;
    }
}

static int peak_bin(const complex_t *a, int from, int to, double *power)
{
    int best = from;
    double best_p = -1.0;
    for (int k = from; k < to; k++) {
        double p = a[k].re * a[k].re + a[k].im * a[k].im;
        if (p > best_p) {
            best_p = p;
            best = k;
        }
    }
    *power = best_p;
    return best;
}

int main(void)
{
    fir_design_lowpass(taps_d, TAPS, 0.05);
    for (int i = 0; i < TAPS; i++)
        taps_q[i] = (int16_t)(int)(taps_d[i] * 32768.0);
    fft_twiddles(twiddle, N);

    double fir_sum = 0.0;
    int64_t q_sum = 0;
    double roundtrip_err = 0.0;
    unsigned peak_sum = 0;
    for (int b = 0; b < BLOCKS; b++) {
        generate_block(b);
        fir_filter(taps_d, TAPS, signal_in, filtered, N);
        fir_filter_q15(taps_q, TAPS, q_in, q_out, N);
        for (int i = 0; i < N; i++) {
            fir_sum += filtered[i] * (double)(i % 3 + 1);
            q_sum += q_out[i];
            spectrum[i].re = signal_in[i];
            spectrum[i].im = 0.0;
        }
        fft(spectrum, twiddle, N, 0);
        double p_low, p_high;
        int low = peak_bin(spectrum, 1, N / 8, &p_low);
        int high = peak_bin(spectrum, N / 8, N / 2, &p_high);
        peak_sum += (unsigned)(low * 31 + high);
        if (b == 0)
            printf("block0 peaks %d %d power %.3f %.3f\n", low, high, p_low, p_high);
        fft(spectrum, twiddle, N, 1);
        for (int i = 0; i < N; i++) {
            double e = spectrum[i].re - signal_in[i];
            if (e < 0.0)
                e = -e;
            if (e > roundtrip_err)
                roundtrip_err = e;
        }
    }
    printf("signal N=%d TAPS=%d BLOCKS=%d\n", N, TAPS, BLOCKS);
    printf("fir checksum %.6f q15 checksum %lld\n", fir_sum, (long long)q_sum);
    printf("peak checksum %u roundtrip ok %d\n", peak_sum, roundtrip_err < 1e-9);
    return 0;
}
