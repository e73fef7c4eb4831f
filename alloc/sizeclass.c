/*
 * sizeclass.c - the class tables; see sizeclass.h for the rule that
 * generates them (16-byte steps to 128, then four classes per doubling).
 * tests/unit/test_sizeclass.c checks every size and reciprocal.
 */
#include "sizeclass.h"

const uint32_t sc_block_size[SC_COUNT] = {
    16, 32, 48, 64, 80, 96,
    112, 128, 160, 192, 224, 256,
    320, 384, 448, 512, 640, 768,
    896, 1024, 1280, 1536, 1792, 2048,
    2560, 3072, 3584, 4096, 5120, 6144,
    7168, 8192, 10240, 12288, 14336, 16384,
};

const uint32_t sc_reciprocal[SC_COUNT] = {
    268435456u, 134217728u, 89478486u, 67108864u,
    53687092u, 44739243u, 38347923u, 33554432u,
    26843546u, 22369622u, 19173962u, 16777216u,
    13421773u, 11184811u, 9586981u, 8388608u,
    6710887u, 5592406u, 4793491u, 4194304u,
    3355444u, 2796203u, 2396746u, 2097152u,
    1677722u, 1398102u, 1198373u, 1048576u,
    838861u, 699051u, 599187u, 524288u,
    419431u, 349526u, 299594u, 262144u,
};
