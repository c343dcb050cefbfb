/* Signal-processing kernel: FIR filters (double and Q15) and a radix-2 FFT. */
#ifndef DSP_H
#define DSP_H

/* Every translation unit includes this before its own code: keep a*b+c as two roundings in every build. */
#pragma STDC FP_CONTRACT OFF

#include <stdint.h>

#ifndef N
#define N 8192 /* samples per block, a power of two for the FFT */
#endif

#ifndef TAPS
#define TAPS 96
#endif

#ifndef BLOCKS
#define BLOCKS 128
#endif

#if (N & (N - 1)) != 0
#error "N must be a power of two"
#endif

typedef struct {
    double re;
    double im;
} complex_t;

/* Polynomial sine and cosine (no libm); arguments are reduced to [-pi, pi]. */
double dsp_sin(double x);
double dsp_cos(double x);

void fir_design_lowpass(double *h, int taps, double cutoff);
void fir_filter(const double *h, int taps, const double *x, double *y, int n);
void fir_filter_q15(const int16_t *h, int taps, const int16_t *x, int16_t *y, int n);

void fft_twiddles(complex_t *w, int n);
void fft(complex_t *a, const complex_t *w, int n, int inverse);

#define DSP_PI 3.14159265358979323846

#endif
