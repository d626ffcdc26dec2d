#pragma once
// glibc hands memory freed at the top of its heap back to the system as soon as more than a
// few megabytes are free there, and serves blocks above its mmap threshold with fresh pages.
// A training loop frees and reallocates the same minibatch-sized tensors every step, so each
// step then pays for zero-filling page faults: a head's epoch on 2000 features ran 2.3x its
// GEMMs, 1.1x with the memory kept. Executables get this through tune_process(argv)
// (hebbkit/process.hpp), first thing in main().

namespace hebbkit {

/// Keeps freed blocks below 32 MiB in the process for reuse (glibc's mmap and trim
/// thresholds), unless the user set MALLOC_MMAP_THRESHOLD_ or MALLOC_TRIM_THRESHOLD_, which
/// are always kept. Returns whether the settings were changed. Larger tensors (datasets,
/// features) are still mapped and returned to the system when freed.
bool keep_freed_memory();

}  // namespace hebbkit
