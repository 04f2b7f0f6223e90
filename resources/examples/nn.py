"""The exercise's network functions, written the way the exercise asks for them (its names and
signatures): a params dict, forward caches, backwards writes grad_W/grad_b. Nothing here imports the
project; `python main.py check resources/examples/nn.py` checks these functions."""
import numpy as np


def initialize_weights(in_size, out_size, params, name=''):
    """Xavier-uniform W, zero b."""
    lim = np.sqrt(6.0 / (in_size + out_size))
    params['W' + name] = np.random.uniform(-lim, lim, (in_size, out_size))
    params['b' + name] = np.zeros(out_size)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def forward(X, params, name='', activation=sigmoid):
    """One layer: activation(X @ W + b); caches (X, pre_act, post_act) for backwards."""
    W = params['W' + name]
    b = params['b' + name]
    pre_act = X @ W + b
    post_act = activation(pre_act)
    params['cache_' + name] = (X, pre_act, post_act)
    return post_act


def softmax(x):
    c = np.max(x, axis=1, keepdims=True)  # subtract the row max: exp never overflows
    e = np.exp(x - c)
    return e / np.sum(e, axis=1, keepdims=True)


def compute_loss_and_acc(y, probs):
    """Cross-entropy summed over the batch, and the fraction of rows whose top class is right."""
    loss = -np.sum(y * np.log(probs))
    acc = np.mean(np.argmax(y, axis=1) == np.argmax(probs, axis=1))
    return loss, acc


def sigmoid_deriv(post_act):
    return post_act * (1.0 - post_act)


def linear_deriv(post_act):
    return np.ones_like(post_act)


def relu(x):
    return np.maximum(x, 0)


def relu_deriv(post_act):
    return (post_act > 0).astype(post_act.dtype)


def backwards(delta, params, name='', activation_deriv=sigmoid_deriv):
    """dL/d(post_act) of a layer in, dL/dX out; writes grad_W and grad_b of the layer."""
    W = params['W' + name]
    X, pre_act, post_act = params['cache_' + name]
    delta_pre = activation_deriv(post_act) * delta
    params['grad_W' + name] = X.T @ delta_pre
    params['grad_b' + name] = np.sum(delta_pre, axis=0)
    return delta_pre @ W.T


def get_random_batches(x, y, batch_size):
    idx = np.random.permutation(len(x))
    return [(x[idx[i:i + batch_size]], y[idx[i:i + batch_size]]) for i in range(0, len(x), batch_size)]
