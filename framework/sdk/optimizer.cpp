#include "hebbkit/optimizer.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace hebbkit {

Choices<OptimizerKind> param_choices(OptimizerKind) {
  return {{OptimizerKind::Adam, "adam"}, {OptimizerKind::AdamW, "adamw"}, {OptimizerKind::Sgd, "sgd"}};
}

OptimizerParams::OptimizerParams(const OptimizerDefaults& d)
    : optimizer(param("optimizer", d.optimizer_,
                      "Adam, AdamW (Adam with weight decay decoupled from the gradient, as SCFF's code uses), or SGD "
                      "with momentum")),
      lr(param("lr", d.lr_, "learning rate at epoch 0").at_least(0)),
      momentum(param("momentum", d.momentum_, "SGD's momentum").in_range(0, 1)),
      weight_decay(param("weight_decay", 0.0,
                         "the optimizer's weight_decay: an L2 penalty in the gradient (adam, sgd); AdamW shrinks the "
                         "weights by lr x weight_decay each step instead")
                       .at_least(0)),
      lr_decay(param("lr_decay", d.lr_decay_, "learning rate is multiplied by this after every lr_step epochs")
                   .in_range(0, 1)),
      lr_step(param("lr_step", 1, "epochs between learning-rate decays (1: exponential; more: a step schedule)")
                  .at_least(1)),
      lr_milestones(param("lr_milestones", std::vector<std::int64_t>{},
                          "epochs at which the learning rate is multiplied by lr_decay, in increasing order "
                          "(PyTorch's MultiStepLR; replaces lr_step)")),
      restart_epochs(param("restart_epochs", 0,
                           "> 0: cosine annealing from lr to 0 with warm restarts (SGDR), the first cycle this many "
                           "epochs (replaces lr_decay and lr_step)")
                         .at_least(0)),
      restart_mult(param("restart_mult", 1, "each cosine cycle is this many times longer than the one before")
                       .at_least(1)) {
  const Params* given = params_being_read();
  if (given == nullptr) return;
  if (optimizer != OptimizerKind::Sgd && given->given("momentum"))
    given->fail("momentum", "momentum is SGD's; Adam and AdamW have their own moments (set optimizer: sgd)");
  if (restart_epochs > 0 && (given->given("lr_decay") || given->given("lr_step")))
    given->fail(given->given("lr_decay") ? "lr_decay" : "lr_step",
                "the cosine schedule (restart_epochs > 0) sets the learning rate itself; leave lr_decay and lr_step out");
  if (!lr_milestones.empty() && given->given("lr_step"))
    given->fail("lr_step", "lr_milestones lists the epochs of the decays itself; leave lr_step out");
  if (!lr_milestones.empty() && restart_epochs > 0)
    given->fail("lr_milestones", "the cosine schedule (restart_epochs > 0) sets the learning rate itself");
  for (std::size_t i = 0; i < lr_milestones.size(); ++i)
    if (lr_milestones[i] < 1 || (i > 0 && lr_milestones[i] <= lr_milestones[i - 1]))
      given->fail("lr_milestones", fmt::format("epochs must be at least 1 and increasing; [{}] is not",
                                               fmt::join(lr_milestones, ", ")));
  if (restart_epochs == 0 && restart_mult != 1)
    given->fail("restart_mult", "restart_mult lengthens the cosine cycles: it needs restart_epochs > 0");
}

double OptimizerParams::lr_at(std::int64_t epoch) const {
  if (!lr_milestones.empty() && restart_epochs <= 0) {
    const auto passed = std::upper_bound(lr_milestones.begin(), lr_milestones.end(), epoch) - lr_milestones.begin();
    return lr * std::pow(lr_decay, static_cast<double>(passed));
  }
  if (restart_epochs <= 0)
    return lr * std::pow(lr_decay, static_cast<double>(epoch / std::max<std::int64_t>(1, lr_step)));
  // Find the cycle `epoch` falls in: cycles of T0, T0 m, T0 m^2, ... epochs.
  std::int64_t length = restart_epochs, into = epoch;
  while (into >= length) {
    into -= length;
    length *= std::max<std::int64_t>(1, restart_mult);
  }
  constexpr double pi = 3.14159265358979323846;
  return lr * 0.5 * (1.0 + std::cos(pi * static_cast<double>(into) / static_cast<double>(length)));
}

}  // namespace hebbkit
