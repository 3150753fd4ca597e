/*
 * symc run-time support (shapes, layouts, BLAS): a template library read by
 * codegen/templates.py; see symc_math.h for the section format.
 */

//@@ bcast
static inline int64_t symc_bcast(int64_t a, int64_t b, int *err)
{
    /* NumPy broadcasting of two extents; flags incompatible ones */
    if (a == b || b == 1) return a;
    if (a == 1) return b;
    *err = 1;
    return a;
}

//@@ arena
static void *symc_arena(int n, const int64_t *bytes, void **parts)
{
    /* one allocation for all temporaries, each part 64-byte aligned and at
       least one byte long (malloc(0) may return NULL) */
    size_t total = 64;
    for (int i = 0; i < n; ++i) total += ((size_t)(bytes[i] > 0 ? bytes[i] : 1) + 63) & ~(size_t)63;
    char *base = (char *)malloc(total);
    if (!base) return NULL;
    char *p = (char *)(((uintptr_t)base + 63) & ~(uintptr_t)63);
    for (int i = 0; i < n; ++i) {
        parts[i] = p;
        p += ((size_t)(bytes[i] > 0 ? bytes[i] : 1) + 63) & ~(size_t)63;
    }
    return base;
}

//@@ par
typedef void (*symc_loop_fn)(void *const *, const int64_t *, int64_t, int64_t);

static void symc_par(symc_loop_fn fn, void *const *ptrs, const int64_t *ints, int64_t count,
                     int64_t work, int nt, int64_t threshold)
{
    /* run fn over [0, count) among nt threads when the work is large enough:
       the one OpenMP region of a kernel, so the loops themselves stay plain
       functions (cheap to compile, no outlining). The range is cut into
       8 chunks per thread, claimed in turn: a thread whose CPU runs slower
       (a busy neighbour, a lower clock) takes fewer, and the region ends
       when the work does rather than when the slowest equal share does. */
#ifdef _OPENMP
    if (nt > 1 && count > 1 && work > threshold) {
        const int64_t pieces = (int64_t)nt * 8;
        const int64_t chunk = count / pieces + (count % pieces != 0);
        int64_t next = 0;
#pragma omp parallel num_threads(nt) shared(next)
        {
            for (;;) {
                const int64_t lo = __atomic_fetch_add(&next, chunk, __ATOMIC_RELAXED);
                if (lo >= count) break;
                fn(ptrs, ints, lo, lo + chunk < count ? lo + chunk : count);
            }
        }
        return;
    }
#else
    (void)work, (void)nt, (void)threshold;
#endif
    fn(ptrs, ints, 0, count);
}

//@@ is_contig
static inline int symc_is_contig(int nd, const int64_t *shape, const int64_t *strides)
{
    /* C-contiguous for this shape; axes of extent 1 may have any stride */
    int64_t expect = 1;
    for (int i = nd - 1; i >= 0; --i) {
        if (shape[i] == 1) continue;
        if (strides[i] != expect) return 0;
        expect *= shape[i];
    }
    return 1;
}

//@@ cblas
#ifndef SYMC_CBLAS
/* the OpenBLAS of scipy-openblas32 prefixes its symbols; export users may redefine */
#define SYMC_CBLAS(name) scipy_cblas_##name
#endif
enum { SYMC_ROW_MAJOR = 101, SYMC_NO_TRANS = 111, SYMC_TRANS = 112 };
void SYMC_CBLAS(dgemm)(int, int, int, int, int, int, double, const double *, int,
                       const double *, int, double, double *, int);
void SYMC_CBLAS(sgemm)(int, int, int, int, int, int, float, const float *, int,
                       const float *, int, float, float *, int);
void SYMC_CBLAS(dgemv)(int, int, int, int, double, const double *, int, const double *, int,
                       double, double *, int);
void SYMC_CBLAS(sgemv)(int, int, int, int, float, const float *, int, const float *, int,
                       float, float *, int);

static int symc_blas_layout(int64_t rows, int64_t cols, int64_t srow, int64_t scol,
                            int *trans, int *ld)
{
    /* Can a rows x cols matrix with these element strides be passed to BLAS
       as row-major (optionally transposed)? Extents of 1 make a stride moot. */
    if ((cols == 1 || scol == 1) && (rows == 1 || srow >= (cols > 1 ? cols : 1))) {
        *trans = SYMC_NO_TRANS;
        *ld = (int)(rows == 1 ? (cols > 1 ? cols : 1) : srow);
        return srow <= INT32_MAX;
    }
    if ((rows == 1 || srow == 1) && (cols == 1 || scol >= (rows > 1 ? rows : 1))) {
        *trans = SYMC_TRANS;
        *ld = (int)(cols == 1 ? (rows > 1 ? rows : 1) : scol);
        return scol <= INT32_MAX;
    }
    return 0;
}

//@@ gemm cblas
static __attribute__((noinline)) void symc_copy_$S(int64_t rows, int64_t cols, const $T *src,
                                                    int64_t sr, int64_t sc, $T *dst, int64_t dr,
                                                    int64_t dc)
{
    /* a strided matrix copy: packs operands BLAS cannot read, unpacks results;
       one out-of-line copy keeps the kernel cheap to compile */
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) dst[i * dr + j * dc] = src[i * sr + j * sc];
}

static __attribute__((noinline)) int symc_gemm_$S(int64_t m, int64_t n, int64_t k, const $T *a, int64_t sam,
                        int64_t sak, const $T *b, int64_t sbk, int64_t sbn, $T *c,
                        int64_t scm, int64_t scn, $T alpha, $T beta)
{
    /* c = alpha * a @ b + beta * c; operands BLAS cannot read are packed first */
    if (m == 0 || n == 0) return 0;
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) return 5;
    if (k == 0) {
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
                $T *p = c + i * scm + j * scn;
                *p = beta == 0 ? ($T)0 : beta * *p;
            }
        return 0;
    }
    int ta, lda, tb, ldb, tc, ldc, status = 0;
    $T *abuf = NULL, *bbuf = NULL, *cbuf = NULL, *cc = c;
    if (!symc_blas_layout(m, k, sam, sak, &ta, &lda)) {
        abuf = ($T *)malloc((size_t)(m * k) * sizeof($T));
        if (!abuf) { status = 1; goto done; }
        symc_copy_$S(m, k, a, sam, sak, abuf, k, 1);
        a = abuf; ta = SYMC_NO_TRANS; lda = (int)k;
    }
    if (!symc_blas_layout(k, n, sbk, sbn, &tb, &ldb)) {
        bbuf = ($T *)malloc((size_t)(k * n) * sizeof($T));
        if (!bbuf) { status = 1; goto done; }
        symc_copy_$S(k, n, b, sbk, sbn, bbuf, n, 1);
        b = bbuf; tb = SYMC_NO_TRANS; ldb = (int)n;
    }
    if (!symc_blas_layout(m, n, scm, scn, &tc, &ldc) || tc != SYMC_NO_TRANS) {
        cbuf = ($T *)malloc((size_t)(m * n) * sizeof($T));
        if (!cbuf) { status = 1; goto done; }
        if (beta != 0) symc_copy_$S(m, n, c, scm, scn, cbuf, n, 1);
        cc = cbuf; ldc = (int)n;
    }
    if (n == 1) {
        /* matrix-vector: gemv reads the column of b with its own stride */
        const int incx = (bbuf || k == 1) ? 1 : (int)sbk;
        const int rows = (int)(ta == SYMC_NO_TRANS ? m : k);
        const int cols = (int)(ta == SYMC_NO_TRANS ? k : m);
        SYMC_CBLAS($Bgemv)(SYMC_ROW_MAJOR, ta, rows, cols, alpha, a, lda, b, incx, beta, cc,
                           ldc);
    } else {
        SYMC_CBLAS($Bgemm)(SYMC_ROW_MAJOR, ta, tb, (int)m, (int)n, (int)k, alpha, a, lda, b,
                           ldb, beta, cc, ldc);
    }
    if (cbuf) symc_copy_$S(m, n, cbuf, n, 1, c, scm, scn);
done:
    free(abuf);
    free(bbuf);
    free(cbuf);
    return status;
}

//@@ igemm
static int symc_gemm_$S(int64_t m, int64_t n, int64_t k, const $T *a, int64_t sam,
                        int64_t sak, const $T *b, int64_t sbk, int64_t sbn, $T *c,
                        int64_t scm, int64_t scn, $T alpha, $T beta)
{
    /* integer matrix product: no BLAS, wrapping arithmetic like NumPy */
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            $T acc = 0;
            for (int64_t p = 0; p < k; ++p) acc = ($T)(acc + a[i * sam + p * sak] * b[p * sbk + j * sbn]);
            $T *out = c + i * scm + j * scn;
            *out = ($T)(alpha * acc + (beta == 0 ? ($T)0 : ($T)(beta * *out)));
        }
    return 0;
}
