/*
 * crc32c.c - CRC-32C (Castagnoli), the checksum of every trace chunk.
 *
 * Table-driven, one byte per step: fast enough that checksumming a
 * recorder buffer costs well under a nanosecond per event, with no
 * dependence on CPU features.  The table is built once, from the
 * polynomial, under pthread_once (the recorder builds it from its
 * constructor before any thread can flush).
 */
#include <pthread.h>

#include "trace_format.h"

/* Reflected Castagnoli polynomial (iSCSI, ext4, btrfs use the same). */
#define CRC32C_POLY 0x82f63b78u
#define CRC32C_TABLE_SIZE 256

static uint32_t crc_table[CRC32C_TABLE_SIZE];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_build_table(void)
{
    for (uint32_t i = 0; i < CRC32C_TABLE_SIZE; i++) {
        uint32_t c = i;
        for (int bit = 0; bit < 8; bit++)
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        crc_table[i] = c;
    }
}

/* Continue a checksum: pass 0 to start; results chain across calls. */
uint32_t trace_crc32c(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    pthread_once(&crc_once, crc_build_table);
    crc = ~crc;
    for (size_t i = 0; i < len; i++)
        crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}
