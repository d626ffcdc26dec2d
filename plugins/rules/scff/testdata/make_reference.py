"""Reference values for test_scff.cpp, computed the way the SCFF authors' code does
(github.com/neurophysics-cnrsthales/contrastive-forward-forward, ContrastFF_MNIST.py):
pre-standardised views, pairs by concatenation with the second view rolled by an offset for
negatives, a first layer that standardises the whole pair and passes both halves through one
weight matrix (two products and twice the bias), the goodness mean(relu(z)^2), the softplus
loss with the |goodness| penalty, one AdamW step, a second plain layer on the triangle
activity, and the readout features of single images (each paired with itself).

Needs python3-torch (Debian): python3 make_reference.py [OUTDIR]. The .npy files it writes
are committed; the test does not run Python.
"""
import os
import sys

import numpy as np
import torch

out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(1234)
B, D, U1, U2 = 5, 12, 7, 6
OFFSET = 2
TH1, TH2, LAMDA = 1.0, 2.0, 0.05      # layer 1: every term of the loss active
TH1_2, TH2_2, LAMDA_2 = 0.5, 0.5, 0.0  # layer 2
LR, WD = 0.01, 0.1


def stdnorm(x):
    x = x - torch.mean(x, dim=[1], keepdim=True)
    return x / (1e-10 + torch.std(x, dim=[1], keepdim=True))


def triangle(x):
    return torch.relu(x - torch.mean(x, axis=1, keepdims=True))


def pairs(a, b, offset):
    n = len(a)
    pos = torch.cat((a, b), dim=1)
    neg = torch.cat((a, b[(torch.arange(n) + offset) % n]), dim=1)
    return pos, neg


def pair_layer(x, lin):
    n = stdnorm(x)
    half = x.size(1) // 2
    return torch.mm(n[:, :half], lin.weight.T) + torch.mm(n[:, half:], lin.weight.T) + 2 * lin.bias


def plain_layer(x, lin):
    return torch.mm(stdnorm(x), lin.weight.T) + lin.bias


def loss(g_pos, g_neg, th1, th2, lamda):
    return (torch.log(1 + torch.exp(-g_pos + th1)).mean() + torch.log(1 + torch.exp(g_neg - th2)).mean()
            + lamda * torch.norm(g_pos[:, None], p=2, dim=1).mean())


def goodness(z):
    return torch.relu(z).pow(2).mean([1])


def save(name, t):
    np.save(os.path.join(out, name + ".npy"), t.detach().numpy().astype(np.float32))


a = torch.rand(B, D) * 2
b = torch.rand(B, D) * 2
lin1 = torch.nn.Linear(D, U1)
lin2 = torch.nn.Linear(U1, U2)
# The initial weights under the names a run's model/ gives them (init: npy, init_prefix .../ref).
for name, t in [("a", a), ("b", b), ("ref_scff0_weight", lin1.weight), ("ref_scff0_bias", lin1.bias),
                ("ref_scff1_weight", lin2.weight), ("ref_scff1_bias", lin2.bias)]:
    save(name, t)

pos, neg = pairs(stdnorm(a), stdnorm(b), OFFSET)
save("positive", pos)
save("negative", neg)

z_pos, z_neg = pair_layer(pos, lin1), pair_layer(neg, lin1)
save("z1_positive", z_pos)
l1 = loss(goodness(z_pos), goodness(z_neg), TH1, TH2, LAMDA)
save("loss1", l1.reshape(1))
opt = torch.optim.AdamW(lin1.parameters(), lr=LR, weight_decay=WD)
opt.zero_grad()
l1.backward()
save("grad_w1", lin1.weight.grad)
save("grad_b1", lin1.bias.grad)
opt.step()
save("w1_after", lin1.weight)
save("b1_after", lin1.bias)

with torch.no_grad():
    h_pos, h_neg = triangle(pair_layer(pos, lin1)), triangle(pair_layer(neg, lin1))
save("h_positive", h_pos)
l2 = loss(goodness(plain_layer(h_pos, lin2)), goodness(plain_layer(h_neg, lin2)), TH1_2, TH2_2, LAMDA_2)
save("loss2", l2.reshape(1))
l2.backward()
save("grad_w2", lin2.weight.grad)

with torch.no_grad():
    x = stdnorm(a)
    f1 = triangle(pair_layer(torch.cat((x, x), dim=1), lin1))
    f2 = triangle(plain_layer(f1, lin2))
    save("features", torch.cat((stdnorm(f1), stdnorm(f2)), dim=1))
print("wrote", out)
