/* Histogram and histogram equalisation through the cumulative distribution. */
#include "image.h"

void histogram(const image_t *img, uint32_t hist[256])
{
    for (int i = 0; i < 256; i++)
        hist[i] = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            hist[img->px[y][x]]++;
}

void equalize(const image_t *src, image_t *dst)
{
    uint32_t hist[256];
    uint8_t map[256];
    histogram(src, hist);
    uint32_t cdf = 0;
    uint32_t cdf_min = 0;
    for (int i = 0; i < 256; i++)
        if (hist[i] != 0) {
            cdf_min = hist[i];
            break;
        }
    const uint32_t total = (uint32_t)W * H;
    for (int i = 0; i < 256; i++) {
        cdf += hist[i];
        uint32_t span = total - cdf_min;
        uint32_t v = (cdf <= cdf_min || span == 0) ? 0 : (uint32_t)((uint64_t)(cdf - cdf_min) * 255u / span);
        map[i] = (uint8_t)v;
    }
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            dst->px[y][x] = map[src->px[y][x]];
}
