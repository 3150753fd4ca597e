/*
 * symc scalar helpers: a template library read by codegen/templates.py.
 *
 * Each section starts with a line "//@@ NAME [dep ...]" and is copied into a
 * generated translation unit only when a kernel uses it, once per dtype,
 * after substituting $T (C type), $S (dtype tag: f64 f32 i64 ... b),
 * $F (libm suffix: "" or "f"), $U (an unsigned type at least as wide) and
 * $B (BLAS prefix letter). Generated code is compiled with -fwrapv, so
 * signed integer arithmetic wraps the way NumPy's does.
 */

//@@ sigmoid
static inline $T symc_sigmoid_$S($T x)
{
    /* two branches so that exp never overflows */
    if (x >= 0) return ($T)1 / (($T)1 + exp$F(-x));
    const $T e = exp$F(x);
    return e / (($T)1 + e);
}

//@@ softplus
static inline $T symc_softplus_$S($T x)
{
    /* log(1 + exp(x)) without overflow for large x */
    if (x > 0) return x + log1p$F(exp$F(-x));
    return log1p$F(exp$F(x));
}

//@@ log1mexp
static inline $T symc_log1mexp_$S($T x)
{
    /* log(1 - exp(x)) for x <= 0, Maechler (2012): the switch at -log(2)
       keeps full precision on both sides. */
    if (x > ($T)-0.693147180559945309417232121458176568) return log$F(-expm1$F(x));
    return log1p$F(-exp$F(x));
}

//@@ logaddexp
static inline $T symc_logaddexp_$S($T a, $T b)
{
    /* equal arguments (infinities included) would give inf - inf below */
    if (a == b) return a + ($T)0.693147180559945309417232121458176568;
    const $T d = a - b;
    if (d > 0) return a + log1p$F(exp$F(-d));
    if (d <= 0) return b + log1p$F(exp$F(d));
    return d; /* NaN */
}

//@@ log_erfc
static inline $T symc_log_erfc_$S($T x)
{
    /* log(erfc(x)), computed in double: erfc underflows near x = 26.5, past
       which the asymptotic series of erfc(t) t sqrt(pi) exp(t t) takes over */
    const double t = (double)x;
    if (fabs(t) < 0.5) return ($T)(log1p(-erf(t)) + 0.0); /* no cancellation; log(1) is +0 */
    if (!(t >= 25.0)) return ($T)log(erfc(t));
    double term = 1.0, total = 0.0;
    const double u = 1.0 / (2.0 * t * t);
    for (int n = 1; n < 12; ++n) {
        term *= -(2.0 * n - 1.0) * u;
        total += term;
    }
    return ($T)(-t * t - log(t * 1.772453850905516027298167483341145183) + log1p(total));
}

//@@ square
static inline $T symc_square_$S($T x)
{
    return ($T)(x * x);
}

//@@ floordiv
static inline $T symc_floordiv_$S($T a, $T b)
{
    /* Python's floor division: derived from fmod so that a == b * q + r exactly */
    if (b == 0) return a / b;
    const $T r = fmod$F(a, b);
    $T q = (a - r) / b;
    if (r != 0 && ((b < 0) != (r < 0))) q -= ($T)1;
    if (q != 0) {
        $T fl = floor$F(q);
        if (q - fl > ($T)0.5) fl += ($T)1;
        return fl;
    }
    return copysign$F(($T)0, a / b);
}

//@@ mod
static inline $T symc_mod_$S($T a, $T b)
{
    /* Python's modulo: the result takes the sign of the divisor */
    $T r = fmod$F(a, b);
    if (b == 0) return r;
    if (r != 0) {
        if ((b < 0) != (r < 0)) r += b;
    } else {
        r = copysign$F(($T)0, b);
    }
    return r;
}

//@@ ifloordiv
static inline $T symc_ifloordiv_$S($T a, $T b)
{
    if (b == 0) return 0;                  /* NumPy returns 0 (and warns) */
    if (b == -1) return ($T)(0 - ($U)a);   /* MIN / -1 would trap */
    $T q = ($T)(a / b);
    if (a % b != 0 && ((a < 0) != (b < 0))) q = ($T)(q - 1);
    return q;
}

//@@ imod
static inline $T symc_imod_$S($T a, $T b)
{
    if (b == 0 || b == -1) return 0;
    $T r = ($T)(a % b);
    if (r != 0 && ((r < 0) != (b < 0))) r = ($T)(r + b);
    return r;
}

//@@ ufloordiv
static inline $T symc_ufloordiv_$S($T a, $T b)
{
    return b == 0 ? ($T)0 : ($T)(a / b);
}

//@@ umod
static inline $T symc_umod_$S($T a, $T b)
{
    return b == 0 ? ($T)0 : ($T)(a % b);
}

//@@ ipow
static inline $T symc_ipow_$S($T a, $T b)
{
    /* NumPy rejects negative integer exponents; the caller checks, 0 here */
    if (b < 0) return 0;
    $U r = 1, x = ($U)a, e = ($U)b;
    while (e) {
        if (e & 1) r *= x;
        x *= x;
        e >>= 1;
    }
    return ($T)r;
}

//@@ maximum
static inline $T symc_maximum_$S($T a, $T b)
{
    /* NaN in either argument propagates and ties return b, as in np.maximum */
    return (a > b || isnan(a)) ? a : b;
}

//@@ minimum
static inline $T symc_minimum_$S($T a, $T b)
{
    return (a < b || isnan(a)) ? a : b;
}

//@@ imaximum
static inline $T symc_imaximum_$S($T a, $T b)
{
    return a > b ? a : b;
}

//@@ iminimum
static inline $T symc_iminimum_$S($T a, $T b)
{
    return a < b ? a : b;
}

//@@ iabs
static inline $T symc_iabs_$S($T x)
{
    return x < 0 ? ($T)(0 - ($U)x) : x;
}

//@@ sign
static inline $T symc_sign_$S($T x)
{
    /* NaN stays NaN and -0.0 gives +0.0, as in np.sign */
    return x > 0 ? ($T)1 : (x < 0 ? ($T)-1 : (x == 0 ? ($T)0 : x));
}

//@@ isign
static inline $T symc_isign_$S($T x)
{
    return ($T)((x > 0) - (x < 0));
}

//@@ usign
static inline $T symc_usign_$S($T x)
{
    return ($T)(x > 0);
}
