/* Convolution filters with clamped borders: 5x5 Gaussian, 3x3 box, Sobel. */
#include "image.h"

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

static int at(const image_t *img, int y, int x)
{
    return img->px[clampi(y, 0, H - 1)][clampi(x, 0, W - 1)];
}

void gaussian_blur5(const image_t *src, image_t *dst)
{
    static const int k[5] = {1, 4, 6, 4, 1}; /* outer product sums to 256 */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int acc = 0;
            for (int dy = -2; dy <= 2; dy++)
                for (int dx = -2; dx <= 2; dx++)
                    acc += k[dy + 2] * k[dx + 2] * at(src, y + dy, x + dx);
            dst->px[y][x] = (uint8_t)((acc + 128) >> 8);
        }
}

void box_blur3(const image_t *src, image_t *dst)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int acc = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                    acc += at(src, y + dy, x + dx);
            dst->px[y][x] = (uint8_t)((acc + 4) / 9);
        }
}

void sobel_magnitude(const image_t *src, image_t *dst)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int gx = -at(src, y - 1, x - 1) - 2 * at(src, y, x - 1) - at(src, y + 1, x - 1) +
                     at(src, y - 1, x + 1) + 2 * at(src, y, x + 1) + at(src, y + 1, x + 1);
            int gy = -at(src, y - 1, x - 1) - 2 * at(src, y - 1, x) - at(src, y - 1, x + 1) +
                     at(src, y + 1, x - 1) + 2 * at(src, y + 1, x) + at(src, y + 1, x + 1);
            int mag = (gx < 0 ? -gx : gx) + (gy < 0 ? -gy : gy);
            dst->px[y][x] = (uint8_t)clampi(mag / 2, 0, 255);
        }
}
