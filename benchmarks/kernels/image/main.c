/* Blur, edge-detect and equalise a generated greyscale image. */
#include <stdio.h>

#include "image.h"

static image_t a;
static image_t b;
static image_t edges;

static void print_stats(const char *label, const image_t *img)
{
    uint32_t hist[256];
    histogram(img, hist);
    uint64_t sum = 0;
    int lo = 255, hi = 0;
    for (int i = 0; i < 256; i++) {
        sum += (uint64_t)hist[i] * (uint32_t)i;
        if (hist[i] != 0) {
            if (i < lo)
                lo = i;
            if (i > hi)
                hi = i;
        }
    }
    printf("%-9s fnv %08x mean %.4f range %d..%d\n", label, image_fnv(img), (double)sum / ((double)W * H), lo, hi);
}

int main(void)
{
    image_generate(&a, 0xC0FFEEu);
    printf("image W=%d H=%d PASSES=%d\n", W, H, PASSES);
    print_stats("input", &a);
    for (int p = 0; p < PASSES; p++) {
        gaussian_blur5(&a, &b);
        box_blur3(&b, &a);
    }
    print_stats("blurred", &a);
    sobel_magnitude(&a, &edges);
    print_stats("edges", &edges);
    equalize(&a, &b);
    print_stats("equalized", &b);
    equalize(&edges, &b);
    print_stats("eq-edges", &b);
    return 0;
}
