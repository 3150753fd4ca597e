/*
 * symc call shim: a fixed CPython extension, compiled once per Python and
 * NumPy version (see codegen/shim.py), that calls a generated kernel's plain
 * C entry points (codegen/abi.py) from Python at low overhead.
 *
 * Kernel(run_addr, shapes_addr, in_types, in_ndims, out_types, out_ndims,
 *        keepalive, on_error, nthreads, single, gil_threshold)
 * is a callable taking the inputs positionally (vectorcall, no tuple):
 * it checks each argument's dtype and ndim (converting other objects with
 * NumPy's safe casting), passes pointers, shapes and element strides,
 * allocates the C-contiguous outputs with the shapes the kernel computes,
 * shrinks an output whose axis 0 the kernel reports it filled only in part
 * (a loop that stopped early: ABI 3, codegen/abi.py), and returns them
 * (one array when single is true, else a list).
 *
 * Kernel may be subclassed in Python (symc's compiled functions are), so that
 * calling the function itself enters C with no Python frame. A subclass
 * copies a built kernel's entry points with `rebind(kernel)`; when a call
 * fails, its `_slow_call(args, error)` method decides what happens (convert
 * and retry, or raise the user-facing error), so only failures reach Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#define NPY_TARGET_VERSION NPY_1_22_API_VERSION /* PyDataMem_SetHandler */
#include <numpy/arrayobject.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MAX_ARGS 64
#define MAX_DIMS 1024

typedef int32_t (*run_fn)(void *const *, int64_t *, const int64_t *, int32_t);
typedef int32_t (*shapes_fn)(void *const *, const int64_t *, int64_t *);

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    run_fn run;
    shapes_fn shapes;
    int nin, nout, in_dims, out_dims;
    int in_type[MAX_ARGS], in_ndim[MAX_ARGS];
    int out_type[MAX_ARGS], out_ndim[MAX_ARGS];
    int nthreads, single;
    Py_ssize_t gil_threshold;
    PyObject *keepalive;
    PyObject *on_error;
} KernelObject;

static int
fill_ints(PyObject *seq, int *dst, int *count, const char *what)
{
    PyObject *fast = PySequence_Fast(seq, what);
    if (!fast) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    if (n > MAX_ARGS) {
        Py_DECREF(fast);
        PyErr_Format(PyExc_ValueError, "too many %s (at most %d)", what, MAX_ARGS);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; ++i) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(fast, i));
        if (v == -1 && PyErr_Occurred()) { Py_DECREF(fast); return -1; }
        dst[i] = (int)v;
    }
    Py_DECREF(fast);
    *count = (int)n;
    return 0;
}

static PyObject *kernel_vectorcall(PyObject *, PyObject *const *, size_t, PyObject *);

/*
 * Large outputs come from a small pool of blocks that earlier outputs freed.
 * A fresh block from mmap is zeroed by the OS page by page as the kernel
 * first writes it (about 40 ms for 80 MB here, more than the arithmetic of a
 * cheap kernel); a reused block is already mapped. The arrays own their data
 * through NumPy's allocator-handler API, so they look like any other array
 * (owndata, no base). The pool keeps at most POOL_SLOTS blocks of up to
 * POOL_MAX_BLOCK bytes, POOL_MAX_TOTAL in all; everything else is freed.
 */
#define POOL_MIN ((size_t)1 << 20)
#define POOL_MAX_BLOCK ((size_t)1 << 27)
#define POOL_MAX_TOTAL ((size_t)1 << 28)
#define POOL_SLOTS 8
#define HEADER 64 /* keeps the data 64-byte aligned and records the capacity */

static struct { void *block[POOL_SLOTS]; size_t cap[POOL_SLOTS]; size_t total; } pool;
static PyThread_type_lock pool_lock;

static void *
pool_take(size_t size)
{
    void *found = NULL;
    PyThread_acquire_lock(pool_lock, WAIT_LOCK);
    int best = -1;
    for (int i = 0; i < POOL_SLOTS; ++i)  /* the smallest block that fits, not twice too big */
        if (pool.block[i] && pool.cap[i] >= size && pool.cap[i] / 2 <= size &&
            (best < 0 || pool.cap[i] < pool.cap[best]))
            best = i;
    if (best >= 0) {
        found = pool.block[best];
        pool.total -= pool.cap[best];
        pool.block[best] = NULL;
    }
    PyThread_release_lock(pool_lock);
    return found;
}

static void
pool_give(void *raw, size_t cap)
{
    PyThread_acquire_lock(pool_lock, WAIT_LOCK);
    int slot = -1;
    if (cap <= POOL_MAX_BLOCK && pool.total + cap <= POOL_MAX_TOTAL)
        for (int i = 0; i < POOL_SLOTS && slot < 0; ++i)
            if (!pool.block[i]) slot = i;
    if (slot >= 0) {
        pool.block[slot] = raw;
        pool.cap[slot] = cap;
        pool.total += cap;
    }
    PyThread_release_lock(pool_lock);
    if (slot < 0) free(raw);
}

static void *
pooled_malloc(void *ctx, size_t size)
{
    (void)ctx;
    if (size == 0) size = 1;
    char *raw = pool_take(size);
    if (!raw) {
        if (size > SIZE_MAX - HEADER) return NULL;
        raw = malloc(size + HEADER);
        if (!raw) return NULL;
        *(size_t *)raw = size;
    }
    return raw + HEADER;
}

static void *
pooled_calloc(void *ctx, size_t n, size_t elsize)
{
    if (elsize && n > SIZE_MAX / elsize) return NULL;
    void *p = pooled_malloc(ctx, n * elsize);
    if (p) memset(p, 0, n * elsize);
    return p;
}

static void
pooled_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    (void)size;
    if (!ptr) return;
    char *raw = (char *)ptr - HEADER;
    pool_give(raw, *(size_t *)raw);
}

static void *
pooled_realloc(void *ctx, void *ptr, size_t size)
{
    if (!ptr) return pooled_malloc(ctx, size);
    size_t cap = *(size_t *)((char *)ptr - HEADER);
    if (size <= cap) return ptr;
    void *fresh = pooled_malloc(ctx, size);
    if (!fresh) return NULL;
    memcpy(fresh, ptr, cap);
    pooled_free(ctx, ptr, cap);
    return fresh;
}

static PyDataMem_Handler pool_handler = {
    "symc_output_pool",
    1,
    {NULL, pooled_malloc, pooled_calloc, pooled_realloc, pooled_free},
};
static PyObject *pool_capsule;

/* A new C-contiguous array for an output: large ones from the pool. */
static PyObject *
new_output(int nd, npy_intp *dims, int type)
{
    PyArray_Descr *descr = PyArray_DescrFromType(type);
    if (!descr) return NULL;
#if NPY_ABI_VERSION >= 0x02000000
    size_t bytes = (size_t)PyDataType_ELSIZE(descr);
#else
    size_t bytes = (size_t)descr->elsize;
#endif
    Py_DECREF(descr);
    for (int d = 0; d < nd; ++d) bytes *= (size_t)dims[d];
    if (bytes < POOL_MIN || !pool_capsule) return PyArray_SimpleNew(nd, dims, type);
    PyObject *old = PyDataMem_SetHandler(pool_capsule);
    if (!old) return NULL;
    PyObject *out = PyArray_SimpleNew(nd, dims, type);
    PyObject *back = PyDataMem_SetHandler(old);
    Py_DECREF(old);
    if (!back) {
        Py_XDECREF(out);
        return NULL;
    }
    Py_DECREF(back);
    return out;
}

static int
kernel_init(KernelObject *self, PyObject *args, PyObject *kwds)
{
    unsigned long long run_addr, shapes_addr;
    PyObject *it, *in_nd, *ot, *out_nd, *keepalive, *on_error;
    int nthreads, single;
    Py_ssize_t gil_threshold;
    if (!PyArg_ParseTuple(args, "KKOOOOOOiin", &run_addr, &shapes_addr, &it, &in_nd, &ot,
                          &out_nd, &keepalive, &on_error, &nthreads, &single, &gil_threshold))
        return -1;
    int n1, n2, n3, n4;
    if (fill_ints(it, self->in_type, &n1, "input types") < 0 ||
        fill_ints(in_nd, self->in_ndim, &n2, "input ndims") < 0 ||
        fill_ints(ot, self->out_type, &n3, "output types") < 0 ||
        fill_ints(out_nd, self->out_ndim, &n4, "output ndims") < 0)
        return -1;
    if (n1 != n2 || n3 != n4) {
        PyErr_SetString(PyExc_ValueError, "types and ndims differ in length");
        return -1;
    }
    self->nin = n1;
    self->nout = n3;
    self->in_dims = self->out_dims = 0;
    for (int i = 0; i < n1; ++i) self->in_dims += self->in_ndim[i];
    for (int i = 0; i < n3; ++i) self->out_dims += self->out_ndim[i];
    if (self->in_dims + self->out_dims > MAX_DIMS) {
        PyErr_SetString(PyExc_ValueError, "too many dimensions in total");
        return -1;
    }
    self->run = (run_fn)(uintptr_t)run_addr;
    self->shapes = (shapes_fn)(uintptr_t)shapes_addr;
    self->nthreads = nthreads;
    self->single = single;
    self->gil_threshold = gil_threshold;
    Py_INCREF(keepalive);
    Py_XSETREF(self->keepalive, keepalive);
    Py_INCREF(on_error);
    Py_XSETREF(self->on_error, on_error);
    self->vectorcall = kernel_vectorcall;
    return 0;
}

static void
kernel_dealloc(KernelObject *self)
{
    Py_XDECREF(self->keepalive);
    Py_XDECREF(self->on_error);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
report(KernelObject *self, int32_t status)
{
    /* on_error(status) raises the exception the caller wants */
    PyObject *r = PyObject_CallFunction(self->on_error, "i", (int)status);
    Py_XDECREF(r);
    if (!PyErr_Occurred())
        PyErr_Format(PyExc_RuntimeError, "compiled kernel failed with status %d", (int)status);
    return -1;
}

/* Borrow `obj` when it already is a usable array, else convert it (new reference in *owned). */
static PyArrayObject *
as_input(PyObject *obj, int type, int ndim, int index, PyObject **owned)
{
    *owned = NULL;
    if (PyArray_CheckExact(obj)) {
        PyArrayObject *a = (PyArrayObject *)obj;
        if (PyArray_TYPE(a) == type && PyArray_NDIM(a) == ndim && PyArray_ISALIGNED(a) &&
            PyArray_ISNOTSWAPPED(a)) {
            npy_intp item = PyArray_ITEMSIZE(a);
            int ok = 1;
            for (int d = 0; d < ndim; ++d)
                if (PyArray_STRIDE(a, d) % item) ok = 0;
            if (ok) return a;
        }
    }
    /* discover the object's own dtype first, so that lists and Python scalars
       convert under the same (safe) rule as arrays instead of being forced */
    PyObject *found = NULL;
    if (!PyArray_Check(obj)) {
        found = PyArray_FromAny(obj, NULL, 0, 0, 0, NULL);
        if (!found) return NULL;
        obj = found;
    }
    PyArray_Descr *descr = PyArray_DescrFromType(type);
    PyObject *conv = PyArray_FromArray((PyArrayObject *)obj, descr, NPY_ARRAY_CARRAY_RO);
    Py_XDECREF(found);
    if (!conv) return NULL;
    if (PyArray_NDIM((PyArrayObject *)conv) != ndim) {
        PyErr_Format(PyExc_ValueError, "argument %d must have %d dimensions, got %d", index,
                     ndim, PyArray_NDIM((PyArrayObject *)conv));
        Py_DECREF(conv);
        return NULL;
    }
    *owned = conv;
    return (PyArrayObject *)conv;
}

/* Keep the first `rows` rows of a fresh output: resized in place, not copied (the
   allocator's realloc gives the tail back, or keeps it with a pooled block). */
static int
keep_rows(PyArrayObject *a, int64_t rows)
{
    const int nd = PyArray_NDIM(a);
    if (rows < 0 || rows > (int64_t)PyArray_DIM(a, 0)) {
        PyErr_Format(PyExc_RuntimeError, "compiled kernel reported %lld rows for an output of %lld",
                     (long long)rows, (long long)PyArray_DIM(a, 0));
        return -1;
    }
    npy_intp dims[NPY_MAXDIMS];
    for (int d = 0; d < nd; ++d) dims[d] = PyArray_DIM(a, d);
    dims[0] = (npy_intp)rows;
    PyArray_Dims shape = {dims, nd};
    /* the array is ours alone (refcheck off): its buffer is reallocated smaller */
    PyObject *r = PyArray_Resize(a, &shape, 0, NPY_CORDER);
    if (!r) return -1;
    Py_DECREF(r);
    return 0;
}

static PyObject *
kernel_call(PyObject *self_, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    KernelObject *self = (KernelObject *)self_;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames && PyTuple_GET_SIZE(kwnames)) {
        PyErr_SetString(PyExc_TypeError, "compiled functions take positional arguments only");
        return NULL;
    }
    if (nargs != self->nin) {
        PyErr_Format(PyExc_TypeError, "expected %d arguments, got %zd", self->nin, nargs);
        return NULL;
    }
    void *data[2 * MAX_ARGS];
    int64_t shapes[MAX_DIMS], strides[MAX_DIMS];
    PyObject *owned[MAX_ARGS];
    PyObject *outs[MAX_ARGS];
    int row_at[MAX_ARGS]; /* where each output's axis 0 is in shapes */
    PyObject *result = NULL;
    int nowned = 0, nouts = 0, pos = 0;
    npy_intp work = 0;
    for (int i = 0; i < self->nin; ++i) {
        PyObject *own;
        PyArrayObject *a = as_input(args[i], self->in_type[i], self->in_ndim[i], i, &own);
        if (!a) goto fail;
        if (own) owned[nowned++] = own;
        const npy_intp item = PyArray_ITEMSIZE(a);
        data[i] = PyArray_DATA(a);
        for (int d = 0; d < self->in_ndim[i]; ++d, ++pos) {
            shapes[pos] = PyArray_DIM(a, d);
            strides[pos] = PyArray_STRIDE(a, d) / item;
        }
        if (PyArray_SIZE(a) > work) work = PyArray_SIZE(a);
    }
    int32_t status = self->shapes(data, shapes, shapes + self->in_dims);
    if (status) { report(self, status); goto fail; }
    for (int j = 0; j < self->nout; ++j) {
        int nd = self->out_ndim[j];
        npy_intp dims[NPY_MAXDIMS];
        for (int d = 0; d < nd; ++d) dims[d] = (npy_intp)shapes[pos + d];
        PyObject *o = new_output(nd, dims, self->out_type[j]);
        if (!o) goto fail;
        outs[nouts++] = o;
        row_at[j] = pos;
        PyArrayObject *a = (PyArrayObject *)o;
        const npy_intp item = PyArray_ITEMSIZE(a);
        data[self->nin + j] = PyArray_DATA(a);
        for (int d = 0; d < nd; ++d, ++pos) strides[pos] = PyArray_STRIDE(a, d) / item;
        if (PyArray_SIZE(a) > work) work = PyArray_SIZE(a);
    }
    if (work >= self->gil_threshold) {
        Py_BEGIN_ALLOW_THREADS
        status = self->run(data, shapes, strides, self->nthreads);
        Py_END_ALLOW_THREADS
    } else {
        status = self->run(data, shapes, strides, self->nthreads);
    }
    if (status) { report(self, status); goto fail; }
    for (int j = 0; j < nouts; ++j) {
        PyArrayObject *a = (PyArrayObject *)outs[j];
        if (self->out_ndim[j] && shapes[row_at[j]] != PyArray_DIM(a, 0) &&
            keep_rows(a, shapes[row_at[j]]) < 0)
            goto fail;
    }
    if (self->single && nouts == 1) {
        result = outs[0];
        nouts = 0;
    } else {
        result = PyList_New(nouts);
        if (!result) goto fail;
        for (int j = 0; j < nouts; ++j) PyList_SET_ITEM(result, j, outs[j]);
        nouts = 0;
    }
fail:
    for (int j = 0; j < nouts; ++j) Py_DECREF(outs[j]);
    for (int i = 0; i < nowned; ++i) Py_DECREF(owned[i]);
    return result;
}

static PyTypeObject KernelType;

/* A failed call on a subclass: hand the arguments and the error to its _slow_call. */
static PyObject *
slow_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb) PyException_SetTraceback(value, tb);
    PyObject *tuple = PyTuple_New(nargs);
    PyObject *result = NULL;
    if (tuple) {
        for (Py_ssize_t i = 0; i < nargs; ++i) {
            Py_INCREF(args[i]);
            PyTuple_SET_ITEM(tuple, i, args[i]);
        }
        result = PyObject_CallMethod(self, "_slow_call", "OO", tuple, value ? value : Py_None);
        Py_DECREF(tuple);
    }
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return result;
}

static PyObject *
kernel_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    PyObject *result = kernel_call(self, args, nargsf, kwnames);
    if (result || Py_IS_TYPE(self, &KernelType) || (kwnames && PyTuple_GET_SIZE(kwnames)))
        return result;
    return slow_call(self, args, PyVectorcall_NARGS(nargsf));
}

/* Copy another kernel's entry points and signature (for instances of subclasses). */
static PyObject *
kernel_rebind(KernelObject *self, PyObject *other_)
{
    if (!PyObject_TypeCheck(other_, &KernelType)) {
        PyErr_SetString(PyExc_TypeError, "rebind expects a Kernel");
        return NULL;
    }
    KernelObject *other = (KernelObject *)other_;
    PyObject *keep = self->keepalive, *err = self->on_error;
    const size_t start = offsetof(KernelObject, run);
    const size_t stop = offsetof(KernelObject, keepalive);
    memcpy((char *)self + start, (char *)other + start, stop - start);
    Py_XINCREF(other->keepalive);
    self->keepalive = other->keepalive;
    Py_XINCREF(other->on_error);
    self->on_error = other->on_error;
    Py_XDECREF(keep);
    Py_XDECREF(err);
    self->vectorcall = kernel_vectorcall;
    Py_RETURN_NONE;
}

static PyMethodDef kernel_methods[] = {
    {"rebind", (PyCFunction)kernel_rebind, METH_O,
     "Take another kernel's entry points and signature."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject KernelType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_symc_shim.Kernel",
    .tp_doc = "A compiled symc kernel callable with NumPy arrays.",
    .tp_basicsize = sizeof(KernelObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_BASETYPE,
    .tp_methods = kernel_methods,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)kernel_init,
    .tp_dealloc = (destructor)kernel_dealloc,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(KernelObject, vectorcall),
};

/* Free every pooled block now; returns the bytes released. */
static PyObject *
shim_pool_clear(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    size_t released = 0;
    for (int i = 0; i < POOL_SLOTS; ++i) {
        PyThread_acquire_lock(pool_lock, WAIT_LOCK);
        void *block = pool.block[i];
        size_t cap = pool.cap[i];
        pool.block[i] = NULL;
        if (block) pool.total -= cap;
        PyThread_release_lock(pool_lock);
        if (block) {
            free(block);
            released += cap;
        }
    }
    return PyLong_FromSize_t(released);
}

/* The bytes the pool holds now. */
static PyObject *
shim_pool_bytes(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    PyThread_acquire_lock(pool_lock, WAIT_LOCK);
    size_t total = pool.total;
    PyThread_release_lock(pool_lock);
    return PyLong_FromSize_t(total);
}

static PyMethodDef shim_functions[] = {
    {"pool_clear", shim_pool_clear, METH_NOARGS,
     "Free the memory kept for reuse by large outputs; returns the bytes released."},
    {"pool_bytes", shim_pool_bytes, METH_NOARGS, "Bytes kept for reuse by large outputs."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef shim_module = {
    PyModuleDef_HEAD_INIT, "_symc_shim", "symc's fixed call shim.", -1, shim_functions,
};

PyMODINIT_FUNC
PyInit__symc_shim(void)
{
    import_array();
    if (PyType_Ready(&KernelType) < 0) return NULL;
    pool_lock = PyThread_allocate_lock();
    if (!pool_lock) return PyErr_NoMemory();
    pool_capsule = PyCapsule_New(&pool_handler, "mem_handler", NULL);
    if (!pool_capsule) return NULL;
    PyObject *m = PyModule_Create(&shim_module);
    if (!m) return NULL;
    Py_INCREF(&KernelType);
    if (PyModule_AddObject(m, "Kernel", (PyObject *)&KernelType) < 0) {
        Py_DECREF(&KernelType);
        Py_DECREF(m);
        return NULL;
    }
#ifdef SYMC_SHIM_SHA256
    /* the hash of this file when it was built: codegen/shim.py refuses a stale build */
    if (PyModule_AddStringConstant(m, "source_sha256", SYMC_SHIM_SHA256) < 0) {
        Py_DECREF(m);
        return NULL;
    }
#endif
    return m;
}
