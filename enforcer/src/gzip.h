/* A small gzip writer (RFC 1952 around one RFC 1951 block with the fixed Huffman code and greedy
 * LZ77 matching over a 32 KiB window). Event batches are repetitive NDJSON (the same keys,
 * instance id and bundle id on every line), which this compresses several times over without
 * the code size of a dynamic-Huffman encoder. Pure: no I/O, no allocation; not thread-safe (one
 * static match table; the reporter thread is its only caller). */
#ifndef INLAY_GZIP_H
#define INLAY_GZIP_H

#include <stddef.h>
#include <stdint.h>

/* Compresses in[0..n) into out[0..cap). Returns the gzip member's length, or 0 when it does not
 * fit in cap (the caller then sends the data uncompressed). */
size_t gzip_compress(const void *in, size_t n, void *out, size_t cap);

/* CRC-32 (IEEE, as gzip uses), continuing from crc (start with 0). */
uint32_t gzip_crc32(uint32_t crc, const void *data, size_t n);

#endif
