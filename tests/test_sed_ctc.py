"""CTC loss (plain and hinted) against tf.nn.ctc_loss and brute force."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from sed.ctc import INFEASIBLE_LOSS, best_path, ctc_loss


# ---------------------------------------------------------------- helpers

def collapse(path):
    """Collapse repeats and drop blanks; also the run index of each frame."""
    tokens, run_of_frame = [], []
    prev = None
    for token in path:
        if token != 0 and token != prev:
            tokens.append(token)
        run_of_frame.append(len(tokens) - 1 if token != 0 else None)
        prev = token
    return tokens, run_of_frame


def brute_force_nll(logits, labels, frames=None, tolerance=None):
    """-log of the summed probability of all length-T paths that collapse to
    ``labels`` and (when hinted) emit label i only within its window."""
    logits = np.asarray(logits, dtype=np.float64)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    time, vocab = logp.shape
    total = 0.0
    for path in itertools.product(range(vocab), repeat=time):
        tokens, runs = collapse(path)
        if tokens != list(labels):
            continue
        if frames is not None and any(
                i is not None and abs(t - frames[i]) > tolerance
                for t, i in enumerate(runs)):
            continue
        total += np.exp(sum(logp[t, k] for t, k in enumerate(path)))
    return -np.log(total) if total > 0 else None


def pad(rows, width, value=0):
    return np.array([list(r) + [value] * (width - len(r)) for r in rows],
                    dtype=np.int32).reshape(len(rows), width)


def random_batch(rng, batch, time, vocab, max_labels, hinted=False):
    """Feasible random sequences of varied lengths (repeats included)."""
    labels, lengths, frames = [], [], []
    for _ in range(batch):
        length = int(rng.integers(1, time + 1))
        n = int(rng.integers(0, max_labels + 1))
        seq = list(rng.integers(1, vocab, size=n))
        while seq and len(seq) + sum(a == b for a, b in zip(seq, seq[1:])) \
                > length:
            seq.pop()
        labels.append(seq)
        lengths.append(length)
        frames.append(sorted(rng.integers(0, length, size=len(seq))))
    width = max(max_labels, 1)
    out = dict(labels=pad(labels, width, value=-1),
               logits=rng.normal(size=(batch, time, vocab)) * 2,
               label_length=np.array([len(s) for s in labels], np.int32),
               logit_length=np.array(lengths, np.int32))
    if hinted:
        out["label_frames"] = pad(frames, width)
    return out


def tf_reference(case):
    return tf.nn.ctc_loss(
        tf.where(case["labels"] < 0, 0, case["labels"]),
        tf.constant(case["logits"], tf.float32), case["label_length"],
        case["logit_length"], logits_time_major=False, blank_index=0).numpy()


def loss_and_grad(logits, *args, **kwargs):
    logits = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = ctc_loss(args[0], logits, *args[1:], **kwargs)
        total = tf.reduce_sum(loss)
    return loss.numpy(), tape.gradient(total, logits).numpy()


# ------------------------------------------------------------ unhinted

@pytest.mark.parametrize("seed", range(6))
def test_equals_tf_nn_ctc_loss(seed):
    rng = np.random.default_rng(seed)
    case = random_batch(rng, batch=5, time=int(rng.integers(1, 40)),
                        vocab=int(rng.integers(3, 10)),
                        max_labels=int(rng.integers(0, 12)))
    ours = ctc_loss(case["labels"], case["logits"].astype(np.float32),
                    case["label_length"], case["logit_length"])
    assert ours.dtype == tf.float32 and ours.shape == (5,)
    np.testing.assert_allclose(ours.numpy(), tf_reference(case), rtol=1e-5)


def test_gradient_equals_tf_nn_ctc_loss():
    case = random_batch(np.random.default_rng(7), 4, 25, 7, 8)
    logits = tf.constant(case["logits"], tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        ours = tf.reduce_sum(ctc_loss(case["labels"], logits,
                                      case["label_length"],
                                      case["logit_length"]))
        ref = tf.reduce_sum(tf.nn.ctc_loss(
            tf.where(case["labels"] < 0, 0, case["labels"]), logits,
            case["label_length"], case["logit_length"],
            logits_time_major=False, blank_index=0))
    np.testing.assert_allclose(tape.gradient(ours, logits).numpy(),
                               tape.gradient(ref, logits).numpy(), atol=2e-5)


# -------------------------------------------------------------- hinted

BRUTE_CASES = [  # (time, vocab, labels, frames, tolerance)
    (4, 3, [1], [0], 0),
    (4, 3, [1], [3], 1),
    (5, 3, [1, 1], [1, 3], 1),
    (5, 4, [1, 2, 3], [0, 2, 4], 0),
    (5, 4, [1, 2, 3], [0, 2, 4], 1),
    (6, 5, [4, 2, 4], [1, 2, 5], 1),
    (6, 5, [2, 2, 3], [0, 3, 5], 2),
    (6, 3, [1, 2], [2, 2], 0),      # same frame, tolerance 0: infeasible
    (6, 3, [1, 2], [2, 2], 1),
    (3, 4, [], [], 0),
    (6, 4, [3], [5], 0),
    (5, 3, [2, 1], [4, 0], 1),      # windows out of order: infeasible
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hinted_equals_brute_force(dtype):
    rng = np.random.default_rng(1)
    for time, vocab, labels, frames, tol in BRUTE_CASES:
        logits = rng.normal(size=(1, time, vocab)) * 1.5
        expected = brute_force_nll(logits[0], labels, frames, tol)
        loss = ctc_loss(pad([labels], 3), logits.astype(dtype), [len(labels)],
                        [time], pad([frames], 3), tol).numpy()[0]
        if expected is None:
            assert loss == INFEASIBLE_LOSS
        else:
            np.testing.assert_allclose(loss, expected, rtol=1e-5, err_msg=str(
                (time, vocab, labels, frames, tol)))


@pytest.mark.parametrize("seed", range(3))
def test_hinted_batch_equals_brute_force(seed):
    """Random batches with varied lengths; masked frames really ignored."""
    rng = np.random.default_rng(100 + seed)
    time, vocab = 6, 4
    case = random_batch(rng, batch=4, time=time, vocab=vocab, max_labels=3,
                        hinted=True)
    case["label_frames"] += rng.integers(-1, 2, size=case["label_frames"]
                                         .shape).astype(np.int32)
    tol = int(rng.integers(0, 3))
    loss = ctc_loss(case["labels"], case["logits"], case["label_length"],
                    case["logit_length"], case["label_frames"], tol).numpy()
    for b in range(4):
        n, length = case["label_length"][b], case["logit_length"][b]
        expected = brute_force_nll(case["logits"][b, :length],
                                   case["labels"][b, :n],
                                   case["label_frames"][b, :n], tol)
        if expected is None:
            assert loss[b] == INFEASIBLE_LOSS
        else:
            np.testing.assert_allclose(loss[b], expected, rtol=1e-5)


def test_unhinted_equals_brute_force():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(1, 5, 3))
    for labels in ([1], [1, 1], [2, 1, 2], [1, 1, 1]):
        loss = ctc_loss([labels], logits, [len(labels)], [5]).numpy()[0]
        np.testing.assert_allclose(loss, brute_force_nll(logits[0], labels),
                                   rtol=1e-5)


@pytest.mark.parametrize("seed", range(3))
def test_wide_tolerance_equals_unhinted(seed):
    rng = np.random.default_rng(200 + seed)
    time = int(rng.integers(2, 30))
    case = random_batch(rng, 5, time, 6, 10, hinted=True)
    logits = case["logits"].astype(np.float32)
    args = (case["labels"], logits, case["label_length"],
            case["logit_length"])
    plain = ctc_loss(*args).numpy()
    hinted = ctc_loss(*args, case["label_frames"], time).numpy()
    # float32 log-space sums over up to 30 frames by another path: ~1e-6.
    np.testing.assert_allclose(hinted, plain, rtol=1e-5)
    np.testing.assert_allclose(hinted, tf_reference(case), rtol=1e-5)


# ----------------------------------------------------------- gradients

@pytest.mark.parametrize("hinted", [False, True])
def test_gradient_matches_finite_differences(hinted):
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(2, 5, 4))
    labels = [[1, 3, 3], [2, 0, 0]]
    extra = ([[0, 2, 4], [1, 0, 0]], 1) if hinted else ()
    args = (labels, [3, 1], [5, 4]) + extra
    weights = np.array([1.0, 0.7])    # distinct upstream gradients per row

    def objective(x):
        return float(np.dot(weights, ctc_loss(args[0], x, *args[1:])))

    x = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = tf.reduce_sum(weights * ctc_loss(args[0], x, *args[1:]))
    grad = tape.gradient(value, x).numpy()
    eps = 1e-6
    numeric = np.zeros_like(logits)
    for idx in np.ndindex(logits.shape):
        step = np.zeros_like(logits)
        step[idx] = eps
        numeric[idx] = (objective(logits + step)
                        - objective(logits - step)) / (2 * eps)
    # float64 throughout (logits are float64): central differences with
    # eps 1e-6 are exact to ~1e-10, so this may stay tight.
    np.testing.assert_allclose(grad, numeric, atol=1e-7)
    assert np.all(grad[1, 4] == 0)     # frame beyond logit_length


def test_padding_is_ignored_and_gradients_finite():
    rng = np.random.default_rng(11)
    logits = rng.normal(size=(2, 8, 5)).astype(np.float32)
    frames_a = [[1, 4, 99, -50], [2, 0, 0, 0]]
    frames_b = [[1, 4, 0, 0], [2, 7, 7, 7]]
    loss_a, grad_a = loss_and_grad(logits, [[1, 2, -7, 99], [4, 3, 3, 3]],
                                   [2, 1], [8, 6], frames_a, 2)
    loss_b, grad_b = loss_and_grad(logits, [[1, 2, 0, 0], [4, 0, 0, 0]],
                                   [2, 1], [8, 6], frames_b, 2)
    # float32: losses ~10 to a few ulps; gradients are differences of
    # probabilities in [-1, 1], 1e-6 is ~16 ulps of 1.
    np.testing.assert_allclose(loss_a, loss_b, rtol=1e-6)
    np.testing.assert_allclose(grad_a, grad_b, atol=1e-6)
    assert np.all(np.isfinite(grad_a))
    assert np.all(grad_a[1, 6:] == 0)


# ---------------------------------------------------------- infeasible

def test_infeasible_sequences():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(4, 6, 4)).astype(np.float32)
    labels = [[1, 2, 0, 0],
              [1, 2, 3, 1],    # 4 labels in 3 frames
              [2, 1, 0, 0],    # hint windows out of order
              [3, 3, 0, 0]]    # repeat needs a blank: 3 frames, 2 available
    frames = [[0, 3, 0, 0], [0, 1, 2, 2], [5, 0, 0, 0], [0, 1, 0, 0]]
    label_length, logit_length = [2, 4, 2, 2], [6, 3, 6, 2]
    for extra in [(frames, 1), ()]:
        loss, grad = loss_and_grad(logits, labels, label_length,
                                   logit_length, *extra)
        assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
        infeasible = [1, 2, 3] if extra else [1, 3]
        assert np.all(loss[infeasible] == INFEASIBLE_LOSS)
        assert np.all(grad[infeasible] == 0)
        alone_extra = ([e[:1] for e in extra[:1]] + list(extra[1:]))
        alone_loss, alone_grad = loss_and_grad(
            logits[:1], labels[:1], [2], [6], *alone_extra)
        # Batch of 4 against batch of 1: float32 kernels may reduce in
        # another order (~1e-6 relative on a log-space sum of 6 frames).
        np.testing.assert_allclose(loss[0], alone_loss[0], rtol=1e-5)
        np.testing.assert_allclose(grad[0], alone_grad[0], atol=1e-5)


# ------------------------------------------------------ graph and XLA

@pytest.mark.parametrize("jit_compile", [False, True])
def test_inside_tf_function(jit_compile):
    case = random_batch(np.random.default_rng(9), 3, 12, 5, 4, hinted=True)
    args = [tf.constant(case[k]) for k in ("labels", "label_length",
                                           "logit_length", "label_frames")]
    logits = tf.constant(case["logits"], tf.float32)

    def step(x, labels, label_length, logit_length, label_frames):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = ctc_loss(labels, x, label_length, logit_length,
                            label_frames, 2)
            total = tf.reduce_sum(loss)
        return loss, tape.gradient(total, x)

    # eager calls of other shapes first: the loss's own shape-generalised
    # graph must not leak into the caller's (XLA cannot compile its gradient)
    for batch, time, vocab, width in [(2, 5, 5, 1), (4, 9, 7, 2)]:
        step(tf.zeros([batch, time, vocab]), tf.ones([batch, width],
                                                      tf.int32),
             tf.ones([batch], tf.int32), tf.fill([batch], time),
             tf.zeros([batch, width], tf.int32))
    graph_loss, graph_grad = tf.function(step, jit_compile=jit_compile)(
        logits, *args)
    eager_loss, eager_grad = step(logits, *args)
    np.testing.assert_allclose(graph_loss.numpy(), eager_loss.numpy(),
                               rtol=1e-5)
    np.testing.assert_allclose(graph_grad.numpy(), eager_grad.numpy(),
                               atol=1e-5)


def test_argument_errors():
    with pytest.raises(ValueError, match="both"):
        ctc_loss([[1]], np.zeros((1, 2, 3)), [1], [2], label_frames=[[0]])
    with pytest.raises(ValueError, match="both"):
        ctc_loss([[1]], np.zeros((1, 2, 3)), [1], [2], tolerance=3)
    with pytest.raises(ValueError, match=">= 0"):
        ctc_loss([[1]], np.zeros((1, 2, 3)), [1], [2], [[0]], -1)


# ----------------------------------------------------------- best path

def one_hot_path(*paths, vocab=5):
    return np.stack([np.eye(vocab)[list(p)] for p in paths])


def test_best_path_collapses_and_keeps_first_frame():
    probs = one_hot_path([0, 3, 3, 3, 0, 0, 4, 4, 0, 4, 1],
                         [2, 2, 0, 2, 1, 1, 1, 0, 0, 0, 0])
    (t0, f0), (t1, f1) = best_path(probs)
    assert t0.tolist() == [3, 4, 4, 1] and f0.tolist() == [1, 6, 9, 10]
    assert t1.tolist() == [2, 2, 1] and f1.tolist() == [0, 3, 4]
    assert t0.dtype == np.int64 and f0.dtype == np.int64


def test_best_path_lengths_logits_and_tensors():
    probs = one_hot_path([1, 1, 0, 2, 2, 3], [0, 0, 0, 0, 0, 0],
                         [4, 0, 4, 4, 0, 0])
    logits = np.log(probs * 0.9 + 0.02)
    decoded = best_path(tf.constant(logits), length=[3, 6, 4])
    assert [(t.tolist(), f.tolist()) for t, f in decoded] == [
        ([1], [0]), ([], []), ([4, 4], [0, 2])]
    assert [t.tolist() for t, _ in best_path(probs)] == [[1, 2, 3], [],
                                                          [4, 4]]
    with pytest.raises(ValueError, match="batch, time, vocab"):
        best_path(probs[0])
    with pytest.raises(ValueError, match="entries"):
        best_path(probs, length=[1, 2])


def test_best_path_round_trip_through_tokens():
    from sed.tokens import events_to_tokens, tokens_to_events
    classes = ["a", "b"]
    times = np.arange(20) * 0.1
    tokens, frames = events_to_tokens([("a", 0.2, 0.9), ("b", 0.5, 1.5)],
                                      classes, times)
    path = np.zeros(20, dtype=int)
    path[frames] = tokens
    (got_tokens, got_frames), = best_path(one_hot_path(path))
    assert got_tokens.tolist() == tokens.tolist()
    assert got_frames.tolist() == frames.tolist()
    events = tokens_to_events(got_tokens, got_frames, classes, times)
    assert events.round(6).values.tolist() == [["a", 0.2, 0.9],
                                               ["b", 0.5, 1.5]]
