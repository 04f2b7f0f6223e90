"""The network layer: dense layers, activations, losses, optimizers and the gradient check.

activations  f(z) in place and f' from the output     losses     cross-entropy, squared error
network      Dense layers chained into a Network     optim      SGD, momentum, the lr schedule
gradcheck    central differences against backprop   blas       the BLAS calls of the hot path
"""
