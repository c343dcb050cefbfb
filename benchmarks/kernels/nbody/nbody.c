/* Gravitational n-body simulation in double precision (leapfrog / symplectic
 * Euler) over a generated cluster of bodies; prints energy and momentum. */
/* Keep a*b+c as two roundings in every build, whatever the target's FMA support. */
#pragma STDC FP_CONTRACT OFF
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#ifndef BODIES
#define BODIES 64
#endif

#ifndef STEPS
#define STEPS 20000
#endif

#define DT 0.001
#define SOFTENING 0.05
#define CENTRAL_MASS 20.0

typedef struct {
    double x, y, z;
    double vx, vy, vz;
    double mass;
} body_t;

static body_t bodies[BODIES];

static uint64_t rng_state = 0x3C6EF372FE94F82BULL;

static double rng_unit(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}

static void generate(void)
{
    for (int i = 0; i < BODIES; i++) {
        body_t *b = &bodies[i];
        b->x = rng_unit() * 2.0 - 1.0;
        b->y = rng_unit() * 2.0 - 1.0;
        b->z = (rng_unit() * 2.0 - 1.0) * 0.1;
        /* Roughly circular orbits around the heavy body 0. */
        double r = sqrt(b->x * b->x + b->y * b->y) + 0.1;
        double speed = sqrt(CENTRAL_MASS / r);
        b->vx = -b->y / r * speed;
        b->vy = b->x / r * speed;
        b->vz = 0.0;
        b->mass = 0.5 + rng_unit();
    }
    bodies[0].mass = CENTRAL_MASS;
    bodies[0].x = bodies[0].y = bodies[0].z = 0.0;
    bodies[0].vx = bodies[0].vy = 0.0;
}

static void offset_momentum(void)
{
    double px = 0.0, py = 0.0, pz = 0.0, m = 0.0;
    for (int i = 0; i < BODIES; i++) {
        px += bodies[i].vx * bodies[i].mass;
        py += bodies[i].vy * bodies[i].mass;
        pz += bodies[i].vz * bodies[i].mass;
        m += bodies[i].mass;
    }
    for (int i = 0; i < BODIES; i++) {
        bodies[i].vx -= px / m;
        bodies[i].vy -= py / m;
        bodies[i].vz -= pz / m;
    }
}

static void advance(double dt)
{
    for (int i = 0; i < BODIES; i++) {
        body_t *bi = &bodies[i];
        for (int j = i + 1; j < BODIES; j++) {
            body_t *bj = &bodies[j];
            double dx = bi->x - bj->x;
            double dy = bi->y - bj->y;
            double dz = bi->z - bj->z;
            double d2 = dx * dx + dy * dy + dz * dz + SOFTENING * SOFTENING;
            double mag = dt / (d2 * sqrt(d2));
            bi->vx -= dx * bj->mass * mag;
            bi->vy -= dy * bj->mass * mag;
            bi->vz -= dz * bj->mass * mag;
            bj->vx += dx * bi->mass * mag;
            bj->vy += dy * bi->mass * mag;
            bj->vz += dz * bi->mass * mag;
        }
    }
    for (int i = 0; i < BODIES; i++) {
        bodies[i].x += dt * bodies[i].vx;
        bodies[i].y += dt * bodies[i].vy;
        bodies[i].z += dt * bodies[i].vz;
    }
}

static double energy(void)
{
    double e = 0.0;
    for (int i = 0; i < BODIES; i++) {
        const body_t *bi = &bodies[i];
        e += 0.5 * bi->mass * (bi->vx * bi->vx + bi->vy * bi->vy + bi->vz * bi->vz);
        for (int j = i + 1; j < BODIES; j++) {
            const body_t *bj = &bodies[j];
            double dx = bi->x - bj->x, dy = bi->y - bj->y, dz = bi->z - bj->z;
            e -= bi->mass * bj->mass / sqrt(dx * dx + dy * dy + dz * dz + SOFTENING * SOFTENING);
        }
    }
    return e;
}

int main(void)
{
    generate();
    offset_momentum();
    double e0 = energy();
    for (int s = 0; s < STEPS; s++)
        advance(DT);
    double e1 = energy();
    double cx = 0.0, cy = 0.0, m = 0.0;
    for (int i = 0; i < BODIES; i++) {
        cx += bodies[i].x * bodies[i].mass;
        cy += bodies[i].y * bodies[i].mass;
        m += bodies[i].mass;
    }
    printf("nbody BODIES=%d STEPS=%d\n", BODIES, STEPS);
    printf("energy before %.9f after %.9f\n", e0, e1);
    printf("centre of mass %.9f %.9f\n", cx / m, cy / m);
    printf("body1 %.6f %.6f %.6f\n", bodies[1].x, bodies[1].y, bodies[1].z);
    return 0;
}
