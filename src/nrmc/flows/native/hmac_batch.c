/* HMAC-SHA-256 of many ids at once, over an Arrow string array's buffers (nrmc pseudonyms).
 *
 * The hashing is OpenSSL's (libcrypto, the library Python's hashlib already uses, with the CPU's
 * SHA instructions where present); this file only runs the per-id loop in C, so that an id costs
 * two SHA-256 blocks instead of a dozen Python calls. The two key-dependent states (key ^ ipad,
 * key ^ opad, RFC 2104) are absorbed once by the caller and copied per id.
 *
 * The context layout is OpenSSL's SHA256_CTX (openssl/sha.h, stable since 0.9.8), declared here
 * so that no development headers are needed.
 */
#include <stdint.h>
#include <string.h>

typedef struct {
    unsigned int h[8];
    unsigned int Nl, Nh;
    unsigned int data[16];
    unsigned int num, md_len;
} nrmc_sha256_ctx;

int SHA256_Init(nrmc_sha256_ctx *c);
int SHA256_Update(nrmc_sha256_ctx *c, const void *data, size_t len);
int SHA256_Final(unsigned char *md, nrmc_sha256_ctx *c);

/* The two states after absorbing one 64-byte block each (the padded key xor ipad / opad). */
void nrmc_hmac_states(const unsigned char *inner_block, const unsigned char *outer_block,
                      nrmc_sha256_ctx *inner, nrmc_sha256_ctx *outer) {
    SHA256_Init(inner);
    SHA256_Update(inner, inner_block, 64);
    SHA256_Init(outer);
    SHA256_Update(outer, outer_block, 64);
}

/* out[i * width .. +width) = first `width` bytes of HMAC(id i), for ids given as Arrow offsets
 * (32- or 64-bit) into data. */
void nrmc_hmac_many(const nrmc_sha256_ctx *inner, const nrmc_sha256_ctx *outer,
                    const unsigned char *data, const void *offsets, int wide_offsets,
                    int64_t n, unsigned char *out, int width) {
    unsigned char digest[32];
    nrmc_sha256_ctx ctx;
    for (int64_t i = 0; i < n; i++) {
        int64_t start, end;
        if (wide_offsets) {
            start = ((const int64_t *)offsets)[i];
            end = ((const int64_t *)offsets)[i + 1];
        } else {
            start = ((const int32_t *)offsets)[i];
            end = ((const int32_t *)offsets)[i + 1];
        }
        memcpy(&ctx, inner, sizeof ctx);
        SHA256_Update(&ctx, data + start, (size_t)(end - start));
        SHA256_Final(digest, &ctx);
        memcpy(&ctx, outer, sizeof ctx);
        SHA256_Update(&ctx, digest, 32);
        SHA256_Final(digest, &ctx);
        memcpy(out + i * width, digest, (size_t)width);
    }
}
