/* Image-processing kernel: 8-bit greyscale images and their filters. */
#ifndef IMAGE_H
#define IMAGE_H

#include <stdint.h>

#ifndef W
#define W 512
#endif

#ifndef H
#define H 384
#endif

#ifndef PASSES
#define PASSES 6
#endif

typedef struct {
    uint8_t px[H][W];
} image_t;

void image_generate(image_t *img, uint32_t seed);
void gaussian_blur5(const image_t *src, image_t *dst);
void sobel_magnitude(const image_t *src, image_t *dst);
void box_blur3(const image_t *src, image_t *dst);
void histogram(const image_t *img, uint32_t hist[256]);
void equalize(const image_t *src, image_t *dst);
uint32_t image_fnv(const image_t *img);

#endif
