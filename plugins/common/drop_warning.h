// The one rule for how often a repeated drop (or skip) is warned about on the bus: the
// first of its kind, then every 100th, so a broken or hostile sender cannot flood it.
// The counters themselves stay exact; GST_DEBUG has every one.
#pragma once

#include <glib.h>

namespace rtcoinfer {

// `n`: how many of this kind there have been, this one included.
inline bool drop_worth_a_warning(guint64 n) { return n == 1 || n % 100 == 0; }

}  // namespace rtcoinfer
