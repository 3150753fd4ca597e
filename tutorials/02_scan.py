"""Tutorial 2: loops with ``sc.scan`` — recurrences, early stops, state, and a small RNN.

``sc.scan(fn, sequences, outputs_info, non_sequences, n_steps)`` calls ``fn``
once on symbolic placeholders to build the loop body, and returns the
outputs stacked over the steps (one row per step) plus a dict of updates for
shared variables. Every loop below is checked against plain NumPy:

1. A**k by repeated multiplication (``outputs_info`` feeds a result back);
2. a polynomial from a sequence of coefficients (``sequences`` + ``non_sequences``);
3. a Fibonacci-like recurrence reading two past steps (``taps=[-2, -1]``);
4. a cumulative sum, and ``n_steps``-only generation;
5. an early stop with ``sc.until``;
6. a body that reads a shared variable, and one that updates one;
7. a nested scan;
8. a tanh RNN, h_t = tanh(W h_{t-1} + U x_t + b): its gradient (backpropagation
   through time, itself a loop) checked with ``verify_grad``, then a few steps
   of SGD with the parameters in shared variables;
9. what the optimizer does to a loop body, and a final state kept in constant
   memory (``Function.scratch_bytes``).

Run it with ``python tutorials/02_scan.py``.
"""

import numpy as np

import symc as sc
from symc.ops.scan import Loop  # the op scan builds, to look inside a compiled loop

# The backend that compiles every function here: with "c" each scan becomes one
# native loop (no Python per step); "python" runs the reference loop.
BACKEND = "c"
rng = np.random.default_rng(0)

# --- 1. A**k: the previous result times A, k times ------------------------------------
A = sc.matrix("A")
k = sc.iscalar("k")
powers, _ = sc.scan(
    lambda prev, A: prev @ A, outputs_info=sc.ones_like(A), non_sequences=A, n_steps=k
)
a = rng.normal(size=(3, 3))
got = sc.function([A, k], powers[-1], backend=BACKEND)(a, 4)
print(
    "1. ones @ A**4 matches NumPy:",
    np.allclose(got, np.ones((3, 3)) @ np.linalg.matrix_power(a, 4)),
)

# --- 2. a polynomial: one term per coefficient -----------------------------------------
coeffs = sc.vector("coeffs")
x = sc.scalar("x")
# the exponents come from a long arange: scan stops at the shortest sequence
terms, _ = sc.scan(
    lambda c, power, x: c * x**power,
    sequences=[coeffs, sc.arange(1000, dtype="float64")],
    non_sequences=x,
)
poly = sc.function([coeffs, x], sc.sum(terms), backend=BACKEND)
c = np.array([1.0, -2.0, 0.0, 3.0])
print(f"2. 1 - 2x + 3x^3 at x=2: {poly(c, 2.0)} (NumPy: {np.polyval(c[::-1], 2.0)})")

# --- 3. two past steps: dict(initial=..., taps=[-2, -1]) --------------------------------
start = sc.vector("start")  # the two values before the first step, oldest first
fib, _ = sc.scan(
    lambda older, newer: older + newer, outputs_info=dict(initial=start, taps=[-2, -1]), n_steps=8
)
print("3. Fibonacci:", sc.function([start], fib, backend=BACKEND)(np.array([0.0, 1.0])))

# --- 4. a cumulative sum, and generation from n_steps alone ------------------------------
v = sc.vector("v")
csum, _ = sc.scan(lambda x_t, total: total + x_t, sequences=v, outputs_info=sc.constant(0.0))
data = rng.normal(size=6)
print(
    "4. cumsum matches NumPy:",
    np.allclose(sc.function([v], csum, backend=BACKEND)(data), np.cumsum(data)),
)
halves, _ = sc.scan(lambda h: h / 2, outputs_info=sc.constant(1.0), n_steps=5)
print("   halving five times:", sc.function([], halves, backend=BACKEND)())


# --- 5. stop early: the step whose condition first holds is the last one ------------------
def doubling(p):
    q = 2 * p
    return q, sc.until(q > 100)


doubled, _ = sc.scan(doubling, outputs_info=sc.constant(1.0), n_steps=1000)
print("5. doubling until past 100:", sc.function([], doubled, backend=BACKEND)())

# --- 6. shared state: read it, or update it every step -------------------------------------
scale = sc.shared(np.array(3.0), name="scale")
scaled, _ = sc.scan(lambda x_t: x_t * scale, sequences=v)
f_scaled = sc.function([v], scaled, backend=BACKEND)
print("6. scaled by the shared value:", f_scaled(np.arange(3.0)))
scale.set_value(np.array(-1.0))
print("   after set_value(-1):", f_scaled(np.arange(3.0)))

seen = sc.shared(np.array(0, dtype="int64"), name="seen")
# the body returns (outputs, updates): each step sees the value the previous one wrote
numbered, updates = sc.scan(lambda x_t: (seen, {seen: seen + 1}), sequences=v)
f_count = sc.function([v], numbered, updates=updates, backend=BACKEND)
print(
    "   step numbers:",
    f_count(np.zeros(4)),
    "then",
    f_count(np.zeros(2)),
    "; seen =",
    seen.get_value(),
)

# --- 7. a scan inside a scan: cumulative sums of every row ---------------------------------
M = sc.matrix("M")


def row_cumsum(row):
    out, _ = sc.scan(lambda x_t, total: total + x_t, sequences=row, outputs_info=sc.constant(0.0))
    return out


nested, _ = sc.scan(row_cumsum, sequences=M)
m = np.arange(6.0).reshape(2, 3)
print(
    "7. nested cumsum matches NumPy:",
    np.allclose(sc.function([M], nested, backend=BACKEND)(m), np.cumsum(m, axis=1)),
)

# --- 8. a tanh RNN, its gradient through time, and a few SGD steps -------------------------
T, H, D = 12, 4, 2


def rnn_states(W, U, b, h0, X):
    """Hidden states h_1 .. h_T of h_t = tanh(W h_{t-1} + U x_t + b)."""
    hs, _ = sc.scan(lambda x_t, h: sc.tanh(W @ h + U @ x_t + b), sequences=X, outputs_info=h0)
    return hs


sc.verify_grad(
    rnn_states,
    [
        rng.normal(size=(H, H)) * 0.5,
        rng.normal(size=(H, D)),
        rng.normal(size=H),
        rng.normal(size=H),
        rng.normal(size=(5, D)),
    ],
    backend=BACKEND,
)
print("8. verify_grad: BPTT through the loop agrees with finite differences")

# the task: predict from the final state the sum of the inputs' first column
X = sc.matrix("X")
target = sc.scalar("target")
W = sc.shared(rng.normal(size=(H, H)) * 0.3, name="W")
U = sc.shared(rng.normal(size=(H, D)) * 0.3, name="U")
b = sc.shared(np.zeros(H), name="b")
readout = sc.shared(rng.normal(size=H) * 0.3, name="readout")
params = [W, U, b, readout]

states = rnn_states(W, U, b, sc.zeros(H), X)
loss = (sc.sum(readout * states[-1]) - target) ** 2
grads = sc.grad(loss, params)
lr = 0.05
train = sc.function(
    [X, target],
    loss,
    updates=[(p, p - lr * g) for p, g in zip(params, grads, strict=True)],
    backend=BACKEND,
)
x_train = rng.normal(size=(T, D)) * 0.3
y_train = float(np.tanh(x_train[:, 0].sum()))
losses = [float(train(x_train, y_train)) for _ in range(10)]
print(f"   SGD on one sequence: loss {losses[0]:.4g} -> {losses[-1]:.4g} after {len(losses)} steps")
assert losses[-1] < losses[0], "training should lower the loss"

# --- 9. what the optimizer does to a loop ---------------------------------------------------
# The body gets the same rewrites as any graph (here log(1 + x) becomes log1p), work
# that reads only loop constants runs once before the loop (exp(a)), and an output read
# only as outs[-1] is not stored at all: the loop keeps its final state, so memory does
# not grow with the number of steps. ``scratch_bytes`` reports every buffer a call
# allocates besides its inputs and outputs.
x0 = sc.scalar("x0")
a = sc.scalar("a")
n = sc.iscalar("n")
xs, _ = sc.scan(
    lambda x, a: sc.log(1 + x * sc.exp(a)) + 1, outputs_info=x0, non_sequences=a, n_steps=n
)
final = sc.function([x0, a, n], xs[-1], backend=BACKEND)
want = 0.5
for _ in range(10_000):
    want = np.log1p(want * np.exp(-3.0)) + 1
print(f"9. final state after 10,000 steps: {final(0.5, -3.0, 10_000):.15g} (NumPy: {want:.15g})")
for steps in (10, 10_000):
    kept = sum(final.scratch_bytes(0.5, -3.0, steps).values())
    print(f"   scratch bytes for {steps:>6} steps: {kept}")
(loop,) = {m.op.loop_key() for m in sc.toposort(final.outputs) if isinstance(m.op, Loop)}
body_ops = sorted({m.op.label() for m in sc.toposort(loop.body.outputs) if m.inputs})
print("   the loop body computes:", body_ops)
