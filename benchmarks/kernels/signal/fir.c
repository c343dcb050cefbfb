/* FIR filters: windowed-sinc low-pass design, direct-form double and Q15 filtering. */
#include "dsp.h"

void fir_design_lowpass(double *h, int taps, double cutoff)
{
    double centre = (taps - 1) / 2.0;
    double sum = 0.0;
    for (int i = 0; i < taps; i++) {
        double t = (double)i - centre;
        double sinc = (t == 0.0) ? 2.0 * cutoff : dsp_sin(2.0 * DSP_PI * cutoff * t) / (DSP_PI * t);
        /* Hann window: 0.5 - 0.5 cos(theta) = 0.5 + 0.5 cos(theta - pi), with the angle kept in [-pi, pi]. */
        double window = 0.5 + 0.5 * dsp_cos(2.0 * DSP_PI * i / (taps - 1) - DSP_PI);
        h[i] = sinc * window;
        sum += h[i];
    }
    for (int i = 0; i < taps; i++)
        h[i] /= sum;
}

void fir_filter(const double *h, int taps, const double *x, double *y, int n)
{
    for (int i = 0; i < n; i++) {
        double acc = 0.0;
        for (int k = 0; k < taps && k <= i; k++)
            acc += h[k] * x[i - k];
        y[i] = acc;
    }
}

static int16_t saturate16(int64_t v)
{
    if (v > 32767)
        return 32767;
    if (v < -32768)
        return -32768;
    return (int16_t)v;
}

void fir_filter_q15(const int16_t *h, int taps, const int16_t *x, int16_t *y, int n)
{
    for (int i = 0; i < n; i++) {
        int64_t acc = 0;
        for (int k = 0; k < taps && k <= i; k++)
            acc += (int32_t)h[k] * (int32_t)x[i - k];
        /* Round, then divide by 2^15 (exact for negative values too). */
        y[i] = saturate16((acc + 16384) / 32768);
    }
}
