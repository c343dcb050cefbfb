/* Synthetic test image: gradients, discs and rectangles plus PRNG noise. */
#include "image.h"

static uint32_t next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static int clamp255(int v)
{
    return v < 0 ? 0 : (v > 255 ? 255 : v);
}

void image_generate(image_t *img, uint32_t seed)
{
    uint32_t s = seed | 1u;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            img->px[y][x] = (uint8_t)((x * 96 / W) + (y * 64 / H) + 40);
    for (int shape = 0; shape < 24; shape++) {
        int cx = (int)(next(&s) % W), cy = (int)(next(&s) % H);
        int r = 8 + (int)(next(&s) % 48u);
        int delta = (int)(next(&s) % 121u) - 60;
        int disc = shape & 1;
        for (int y = cy - r; y <= cy + r; y++) {
            if (y < 0 || y >= H)
                continue;
            for (int x = cx - r; x <= cx + r; x++) {
                if (x < 0 || x >= W)
                    continue;
                int dx = x - cx, dy = y - cy;
                if (disc && dx * dx + dy * dy > r * r)
                    continue;
                img->px[y][x] = (uint8_t)clamp255(img->px[y][x] + delta);
            }
        }
    }
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int n = (int)(next(&s) % 17u) - 8;
            img->px[y][x] = (uint8_t)clamp255(img->px[y][x] + n);
        }
}

uint32_t image_fnv(const image_t *img)
{
    uint32_t h = 2166136261u;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            h = (h ^ img->px[y][x]) * 16777619u;
    return h;
}
