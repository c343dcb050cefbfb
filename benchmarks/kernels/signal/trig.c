/* Taylor-series sine and cosine: deterministic, no libm. */
#include "dsp.h"

static double reduce(double x)
{
    while (x > DSP_PI)
        x -= 2.0 * DSP_PI;
    while (x < -DSP_PI)
        x += 2.0 * DSP_PI;
    return x;
}

double dsp_sin(double x)
{
    x = reduce(x);
    double term = x;
    double sum = x;
    double x2 = x * x;
    for (int k = 1; k < 14; k++) {
        term *= -x2 / (double)((2 * k) * (2 * k + 1));
        sum += term;
    }
    return sum;
}

double dsp_cos(double x)
{
    x = reduce(x);
    double term = 1.0;
    double sum = 1.0;
    double x2 = x * x;
    for (int k = 1; k < 14; k++) {
        term *= -x2 / (double)((2 * k - 1) * (2 * k));
        sum += term;
    }
    return sum;
}
