"""Reference values for test_scff_conv.cpp, computed the way the SCFF authors' CIFAR-10 code
does (github.com/neurophysics-cnrsthales/contrastive-forward-forward, ContrastFF_CIFAR.py):
images standardised per sample and paired along the channels (a negative's second half rolled
by an offset); a conv layer that pads (reflect), standardises each sample over all its values,
and, reading pairs, convolves both halves with one set of kernels and adds them; goodness
mean(relu(z)^2) over channels at each place; the softplus loss averaged over places plus
lamda x the positives' goodness norm over places; one AdamW step; a second layer on the
pooled triangle activity of the first's positives and negatives; a third that reads pairs made
afresh of the second's positives; and the readout features (each layer's output average-pooled
2x2 with ceil mode and standardised, pairing layers reading their input beside itself).

Needs python3-torch (Debian): python3 make_reference.py [OUTDIR]. The .npy files it writes
are committed; the test does not run Python.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(1234)
B, C, S = 4, 3, 8
OFFSET0, OFFSET2 = 1, 3
K = [5, 6, 7]
PAIRS = [True, False, True]
ACT = ["triangle", "triangle", "relu"]
TH = [(0.0, 1.0, 0.05), (0.5, 1.5, 0.02), (0.3, 0.8, 0.01)]  # theta_pos, theta_neg, lamda
LR, WD = 0.01, 0.1


def stdnorm(x):
    x = x - torch.mean(x, dim=(1, 2, 3), keepdim=True)
    return x / (1e-10 + torch.std(x, dim=(1, 2, 3), keepdim=True))


def pairs(a, b, offset):
    n = len(a)
    return torch.cat((a, b), dim=1), torch.cat((a, b[(torch.arange(n) + offset) % n]), dim=1)


def layer(x, conv, pad, concat):
    x = F.pad(x, (pad, pad, pad, pad), "reflect")
    x = stdnorm(x)
    if concat:
        half = x.size(1) // 2
        return conv(x[:, :half]) + conv(x[:, half:])
    return conv(x)


def act(x, kind):
    return F.relu(x - torch.mean(x, axis=1, keepdims=True)) if kind == "triangle" else F.relu(x)


POOLS = [lambda x: F.max_pool2d(x, 4, 2, 1, ceil_mode=True), lambda x: F.max_pool2d(x, 4, 2, 1, ceil_mode=True),
         lambda x: F.avg_pool2d(x, 2, 2, 0, ceil_mode=True)]


def extra_pool(x):
    return F.avg_pool2d(x, 2, 2, 0, ceil_mode=True)


def goodness(z):
    return F.relu(z).pow(2).mean([1])


def loss(z_pos, z_neg, th):
    y_pos, y_neg = goodness(z_pos), goodness(z_neg)
    return (torch.log(1 + torch.exp(-y_pos + th[0])).mean([1, 2]).mean()
            + torch.log(1 + torch.exp(y_neg - th[1])).mean([1, 2]).mean()
            + th[2] * torch.norm(y_pos, p=2, dim=(1, 2)).mean())


def save(name, t):
    np.save(os.path.join(out, name + ".npy"), t.detach().numpy().astype(np.float32))


images = torch.rand(B, C, S, S) * 2
convs = []
below = C
for i, k in enumerate(K):
    conv = torch.nn.Conv2d(below, k, 3)
    torch.nn.init.xavier_uniform_(conv.weight)
    convs.append(conv)
    save(f"ref_scff{i}_weight", conv.weight)
    save(f"ref_scff{i}_bias", conv.bias)
    below = k
save("images", images)

# Layer 0: pairs of the images, one AdamW step.
pos, neg = pairs(stdnorm(images), stdnorm(images), OFFSET0)
save("positive", pos)
save("negative", neg)
z_pos = layer(pos, convs[0], 1, True)
save("z0_positive", z_pos)
value = loss(z_pos, layer(neg, convs[0], 1, True), TH[0])
value.backward()
save("loss0", value)
save("grad_w0", convs[0].weight.grad)
save("grad_b0", convs[0].bias.grad)
torch.optim.AdamW(convs[0].parameters(), lr=LR, weight_decay=WD).step()
save("w0_after", convs[0].weight)
save("b0_after", convs[0].bias)

# Layer 1 reads what layer 0 made of the positives and of the negatives.
with torch.no_grad():
    h_pos = POOLS[0](act(layer(pos, convs[0], 1, True), ACT[0]))
    h_neg = POOLS[0](act(layer(neg, convs[0], 1, True), ACT[0]))
save("h1_positive", h_pos)
value = loss(layer(h_pos, convs[1], 1, False), layer(h_neg, convs[1], 1, False), TH[1])
value.backward()
save("loss1", value)
save("grad_w1", convs[1].weight.grad)

# Layer 2 reads pairs made afresh of layer 1's positives.
with torch.no_grad():
    h2 = stdnorm(POOLS[1](act(layer(h_pos, convs[1], 1, False), ACT[1])))
pos2, neg2 = pairs(h2, h2, OFFSET2)
value = loss(layer(pos2, convs[2], 1, True), layer(neg2, convs[2], 1, True), TH[2])
value.backward()
save("loss2", value)
save("grad_w2", convs[2].weight.grad)

# The readout of single images.
with torch.no_grad():
    x, features = images, []
    for i in range(3):
        if PAIRS[i]:
            x = stdnorm(x)
            x = torch.cat((x, x), dim=1)
        x = POOLS[i](act(layer(x, convs[i], 1, PAIRS[i]), ACT[i]))
        features.append(stdnorm(extra_pool(x)).flatten(start_dim=1))
save("features", torch.cat(features, dim=1))
