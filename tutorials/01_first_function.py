"""Tutorial 1: a first function — build a loss, look at it, differentiate, compile, train.

Logistic regression on a small synthetic data set:

1. build the loss as a symbolic graph and print it with ``sc.dprint``;
2. take its gradient with ``sc.grad`` (another graph) and print that too;
3. compile loss and gradient with ``sc.function`` and call it on arrays;
4. check the gradient against finite differences with ``sc.verify_grad``;
5. train with gradient descent, keeping the weights in a shared variable
   that an ``updates`` rule changes after every call.

Run it with ``python tutorials/01_first_function.py``.
"""

import numpy as np

import symc as sc

# The backend that compiles every function here: "c" (the default) generates,
# compiles and caches native code; "python" evaluates the same optimized graph
# with NumPy (the reference every backend is tested against).
BACKEND = "c"

# --- 1. the loss, as a graph --------------------------------------------------
X = sc.matrix("X")  # (examples, features); lengths unknown until called
y = sc.vector("y")  # labels in {0, 1}
w = sc.vector("w")
b = sc.scalar("b")

logits = sc.sum(X * w, axis=1) + b  # X @ w, written with broadcasting
# -log sigmoid(z) = softplus(-z) and -log(1 - sigmoid(z)) = softplus(z):
# this form never takes the log of an underflowed probability
loss = sc.mean(y * sc.softplus(-logits) + (1 - y) * sc.softplus(logits))

print("The loss graph:")
sc.dprint(loss)

# --- 2. its gradient, another graph ---------------------------------------------
g_w, g_b = sc.grad(loss, [w, b])
print("\nThe gradient with respect to b:")
sc.dprint(g_b)

# --- 3. compile and call -----------------------------------------------------------
rng = np.random.default_rng(0)
n, d = 200, 3
true_w, true_b = np.array([2.0, -1.0, 0.5]), -0.3
X_data = rng.normal(size=(n, d))
y_data = (rng.random(n) < 1 / (1 + np.exp(-(X_data @ true_w + true_b)))).astype(float)

f = sc.function([X, y, w, b], [loss, g_w, g_b], backend=BACKEND)
value, gw, gb = f(X_data, y_data, np.zeros(d), 0.0)
print(f"\nAt w = 0, b = 0: loss = {value:.6f} (log 2 = {np.log(2):.6f})")
print(f"gradient w.r.t. w = {np.round(gw, 4)}, w.r.t. b = {gb:.4f}")


# --- 4. check the gradient numerically --------------------------------------------
def loss_of(w_, b_):
    """The same loss on the fixed data, as a function of the parameters only."""
    z = sc.sum(sc.constant(X_data[:20]) * w_, axis=1) + b_
    t = sc.constant(y_data[:20])
    return sc.mean(t * sc.softplus(-z) + (1 - t) * sc.softplus(z))


sc.verify_grad(loss_of, [rng.normal(size=d), np.array(0.1)], backend=BACKEND)
print("verify_grad: the analytic gradient agrees with finite differences")

# --- 5. train: shared weights, updated after each call ----------------------------------
w_s = sc.shared(np.zeros(d), name="w")
b_s = sc.shared(0.0, name="b")
(train_loss,) = sc.replace([loss], {w: w_s, b: b_s})
gw_s, gb_s = sc.grad(train_loss, [w_s, b_s])
lr = 0.5
step = sc.function(
    [X, y], train_loss, updates=[(w_s, w_s - lr * gw_s), (b_s, b_s - lr * gb_s)], backend=BACKEND
)
for epoch in range(201):
    current = step(X_data, y_data)  # the loss before this step's update
    if epoch % 50 == 0:
        print(f"epoch {epoch:3d}: loss {current:.6f}")

learned_w, learned_b = w_s.get_value(), float(b_s.get_value())
print(f"learned w = {np.round(learned_w, 3)}, b = {learned_b:.3f} (true {true_w}, {true_b})")
accuracy = np.mean(((X_data @ learned_w + learned_b) > 0) == (y_data > 0.5))
print(f"training accuracy: {accuracy:.1%}")
assert current < value, "training should lower the loss"
