// Makes idle OpenMP threads sleep instead of spin, before libgomp starts.
//
// LibTorch and OpenBLAS run their threads through libgomp, whose idle workers spin for
// GOMP_SPINCOUNT iterations (default 300000, milliseconds) after every parallel region.
// Alone on a machine that costs nothing; two runs sharing its cores spend their time
// spinning against each other: two 2-thread Krotov trainings on 2 cores each took 8.6x
// their solo time, against 1.9x with passive waiting, which costs a solo run nothing
// measurable (experiments/README.md, "Speed"). libgomp reads its environment once, in its
// constructor, before main(); an executable's .preinit_array runs before any shared
// library's constructors, so this is where the process can still choose. A policy the user
// set (OMP_WAIT_POLICY or GOMP_SPINCOUNT) is kept.
#include <cstdlib>

namespace {

void choose_passive_wait(int, char**, char**) {
  if (std::getenv("OMP_WAIT_POLICY") == nullptr && std::getenv("GOMP_SPINCOUNT") == nullptr)
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
}

}  // namespace

__attribute__((section(".preinit_array"), used)) void (*const hebbkit_wait_policy)(int, char**, char**) =
    &choose_passive_wait;
